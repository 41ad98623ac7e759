import { describe, expect, it } from 'vitest';
import { redactPhoneNumbers } from '../../../src/handlers/whatsapp-redact.js';

describe('phone numbers in provider error texts', () => {
  it('are masked in every way they are written, keeping the last two digits', () => {
    expect(redactPhoneNumbers('Recipient +34 600 111 222 is not a WhatsApp user')).toBe('Recipient [phone …22] is not a WhatsApp user');
    expect(redactPhoneNumbers('to 34600111222 failed')).toBe('to [phone …22] failed');
    expect(redactPhoneNumbers('(415) 555-0100 and +1-415-555-0199')).toBe('[phone …00] and [phone …99]');
  });

  it('leave error codes, counts and short numbers alone', () => {
    const text = '(#131030) Recipient not in allowed list (code 131030), retry in 30 s, 2 of 3';
    expect(redactPhoneNumbers(text)).toBe(text);
  });

  it('mask any run of 7 to 15 digits (a too-eager mask is the safe side), not longer ids', () => {
    expect(redactPhoneNumbers('ref 1234567')).toBe('ref [phone …67]');
    expect(redactPhoneNumbers('trace 12345678901234567890')).toBe('trace 12345678901234567890');
  });
});
