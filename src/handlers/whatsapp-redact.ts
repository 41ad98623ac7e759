// Provider error texts quote the recipient ("+34 600 111 222 is not a valid WhatsApp user"):
// they go to logs, park reasons and the outbox only with phone numbers masked.

// A run of 7 to 15 digits, with the separators people and providers put in phone numbers.
const PHONE_LIKE = /\+?\(?\d(?:[\d\s().-]*\d)?/g;

/** Masks every phone-like number (7-15 digits) but its last two digits: `+34 600 111 222` -> `[phone ...22]`. */
export function redactPhoneNumbers(text: string): string {
  return text.replace(PHONE_LIKE, (match) => {
    const digits = match.replace(/\D/g, '');
    if (digits.length < 7 || digits.length > 15) return match;
    return `[phone …${digits.slice(-2)}]`;
  });
}
