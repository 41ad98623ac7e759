// WhatsApp Business Cloud API template messages: one approved template per order status the
// customer hears about. Pure, so the wire format is unit-tested.
import type { OrderStatus } from '../orders/index.js';

export const STATUS_TEMPLATES: Partial<Record<OrderStatus, string>> = {
  PAID: 'order_paid',
  SHIPPED: 'order_shipped',
  DELIVERED: 'order_delivered',
  CANCELLED: 'order_cancelled',
  RETURNED: 'order_returned',
  REFUNDED: 'order_refunded',
};

/** The body of `POST {base}/{phone-number-id}/messages`. */
export interface WhatsAppTemplateMessage {
  messaging_product: 'whatsapp';
  recipient_type: 'individual';
  /** Digits only, with country code (E.164 without the '+'). */
  to: string;
  type: 'template';
  template: {
    name: string;
    language: { code: string };
    components: { type: 'body'; parameters: { type: 'text'; text: string }[] }[];
  };
}

/** E.164 (`+14155550100`, spaces and dashes tolerated) to the API's digits; undefined if not a phone. */
export function toWhatsAppRecipient(phone: string | undefined): string | undefined {
  if (!phone) return undefined;
  const digits = phone.replace(/[\s()-]/g, '').replace(/^\+/, '');
  return /^\d{7,15}$/.test(digits) ? digits : undefined;
}

export function statusTemplateMessage(options: {
  to: string;
  status: OrderStatus;
  language: string;
  customerName: string | undefined;
  orderId: string;
}): WhatsAppTemplateMessage | undefined {
  const name = STATUS_TEMPLATES[options.status];
  if (!name) return undefined;
  return {
    messaging_product: 'whatsapp',
    recipient_type: 'individual',
    to: options.to,
    type: 'template',
    template: {
      name,
      language: { code: options.language },
      components: [
        {
          type: 'body',
          parameters: [
            { type: 'text', text: options.customerName ?? 'there' },
            { type: 'text', text: options.orderId },
          ],
        },
      ],
    },
  };
}
