import { describe, expect, it } from 'vitest';
import { networkOf, parseAddress } from './address.js';

const net = (address: string, prefix: number): string => networkOf(parseAddress(address)!, prefix);

describe('parseAddress', () => {
  it('reads IPv4 and IPv6 literals, an IPv4-mapped address as IPv4, without a zone', () => {
    expect(parseAddress('203.0.113.7')).toMatchObject({ family: 4, address: '203.0.113.7' });
    expect(parseAddress('::ffff:203.0.113.7')).toMatchObject({ family: 4, address: '203.0.113.7' });
    expect(parseAddress('::FFFF:203.0.113.7')).toMatchObject({ family: 4, address: '203.0.113.7' });
    expect(parseAddress('2001:0DB8:0000:0000:0000:0000:0000:0001')).toMatchObject({ family: 6, address: '2001:db8::1' });
    expect(parseAddress('fe80::1%eth0')).toMatchObject({ family: 6, address: 'fe80::1' });
    expect(parseAddress('64:ff9b::198.51.100.7')?.v6).toEqual([0x64, 0xff9b, 0, 0, 0, 0, 0xc633, 0x6407]);
  });

  it('is null for what is not an address', () => {
    for (const text of ['', 'localhost', '203.0.113', '203.0.113.256', '2001:db8::1::2', '203.0.113.0/24', 'unknown']) expect(parseAddress(text), text).toBeNull();
  });
});

describe('networkOf', () => {
  it('masks an IPv4 address to its prefix', () => {
    expect(net('203.0.113.7', 24)).toBe('203.0.113.0/24');
    expect(net('203.0.113.7', 16)).toBe('203.0.0.0/16');
    expect(net('203.0.113.7', 32)).toBe('203.0.113.7/32');
    expect(net('203.0.113.7', 20)).toBe('203.0.112.0/20');
    expect(net('255.255.255.255', 8)).toBe('255.0.0.0/8');
    expect(net('::ffff:10.1.2.3', 24)).toBe('10.1.2.0/24');
  });

  it('masks an IPv6 address to its prefix, in canonical text', () => {
    expect(net('2001:db8:1:2::5', 48)).toBe('2001:db8:1::/48');
    expect(net('2001:db8:abcd:ef01::5', 56)).toBe('2001:db8:abcd:ef00::/56');
    expect(net('2001:db8:abcd:ef01::5', 52)).toBe('2001:db8:abcd:e000::/52');
    expect(net('2001:db8::5', 128)).toBe('2001:db8::5/128');
    expect(net('2001:db8:ffff::1', 32)).toBe('2001:db8::/32');
    expect(net('::1', 48)).toBe('::/48');
    // two addresses of one /48 are one network, of two /48s two
    expect(net('2001:db8:1:aaaa::1', 48)).toBe(net('2001:db8:1:bbbb:1:2:3:4', 48));
    expect(net('2001:db8:1::1', 48)).not.toBe(net('2001:db8:2::1', 48));
  });
});
