import { describe, expect, it } from 'vitest';
import { STATUS_TEMPLATES, statusTemplateMessage, toWhatsAppRecipient } from '../../../src/handlers/whatsapp-message.js';
import { ORDER_STATUSES } from '../../../src/orders/index.js';

describe('WhatsApp template messages', () => {
  it('turns an E.164 phone into the digits the Cloud API expects, and refuses what is not a phone', () => {
    expect(toWhatsAppRecipient('+14155550100')).toBe('14155550100');
    expect(toWhatsAppRecipient('+44 (7700) 900-123')).toBe('447700900123');
    expect(toWhatsAppRecipient('call me')).toBeUndefined();
    expect(toWhatsAppRecipient('+12')).toBeUndefined();
    expect(toWhatsAppRecipient(undefined)).toBeUndefined();
  });

  it('has a template for every status a customer hears about, and none for PENDING', () => {
    expect(Object.keys(STATUS_TEMPLATES).sort()).toEqual(ORDER_STATUSES.filter((status) => status !== 'PENDING').sort());
    expect(statusTemplateMessage({ to: '1', status: 'PENDING', language: 'en_US', customerName: 'A', orderId: 'o' })).toBeUndefined();
  });

  it('builds the Cloud API body with the customer name and order id as body parameters', () => {
    expect(statusTemplateMessage({ to: '14155550100', status: 'REFUNDED', language: 'pt_BR', customerName: undefined, orderId: 'o-7' })).toEqual({
      messaging_product: 'whatsapp',
      recipient_type: 'individual',
      to: '14155550100',
      type: 'template',
      template: {
        name: 'order_refunded',
        language: { code: 'pt_BR' },
        components: [{ type: 'body', parameters: [{ type: 'text', text: 'there' }, { type: 'text', text: 'o-7' }] }],
      },
    });
  });
});
