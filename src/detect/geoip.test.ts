// The test MaxMind DB writer (test/helpers/mmdb-writer.ts) read back through the real `maxmind`
// reader, and the country lookups of ./geoip.ts over a file it wrote.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import maxmind, { Reader } from 'maxmind';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeValue, Uint, writeMmdb, type MmdbNetwork } from '../../test/helpers/mmdb-writer.js';
import { isKeyturnError } from '../core/errors.js';
import { openGeoip } from './geoip.js';

const NETWORKS: MmdbNetwork[] = [
  { network: '198.51.100.0/24', data: { country: { iso_code: 'DE' } } },
  { network: '203.0.113.0/25', data: { country: { iso_code: 'BR' } } },
  { network: '203.0.113.128/25', data: { country: { iso_code: 'DE' } } },
  { network: '2001:db8::/32', data: { country: { iso_code: 'FR' } } },
  { network: '2a00:1450:4000::/37', data: { registered_country: { iso_code: 'ie' } } },
];

const dir = mkdtempSync(join(tmpdir(), 'kt-geoip-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = join(dir, 'test-country.mmdb');
writeFileSync(file, writeMmdb(NETWORKS, { buildEpoch: 1_700_000_000 }));

describe('mmdb-writer, read by the maxmind package', () => {
  it('writes the metadata the spec requires', async () => {
    const reader = await maxmind.open(file);
    expect(reader.metadata).toMatchObject({
      binaryFormatMajorVersion: 2,
      binaryFormatMinorVersion: 0,
      ipVersion: 6,
      recordSize: 24,
      nodeByteSize: 6,
      databaseType: 'Keyturn-Test-Country',
      languages: ['en'],
    });
    expect(reader.metadata.buildEpoch.getTime()).toBe(1_700_000_000_000);
    expect(reader.metadata.nodeCount).toBeGreaterThan(96);
  });

  it('maps each network to its data, with its prefix length, and nothing else', () => {
    const reader = new Reader(writeMmdb(NETWORKS));
    expect(reader.getWithPrefixLength('198.51.100.7')).toEqual([{ country: { iso_code: 'DE' } }, 24]);
    expect(reader.getWithPrefixLength('203.0.113.5')).toEqual([{ country: { iso_code: 'BR' } }, 25]);
    expect(reader.get('203.0.113.200')).toEqual({ country: { iso_code: 'DE' } });
    expect(reader.getWithPrefixLength('2001:db8:ffff::1')).toEqual([{ country: { iso_code: 'FR' } }, 32]);
    expect(reader.get('2a00:1450:4001:81a::200e')).toEqual({ registered_country: { iso_code: 'ie' } });
    for (const none of ['198.51.101.1', '10.1.2.3', '127.0.0.1', '::1', '2001:db9::1', '2a00:1450:5000::1']) expect(reader.get(none), none).toBeNull();
  });

  it('encodes sizes past 28 bytes, arrays and integers as the spec does', () => {
    const long = 'x'.repeat(300);
    const reader = new Reader(writeMmdb([{ network: '192.0.2.0/24', data: { name: long, list: ['a', 'b'], n: new Uint(32, 70_000), big: new Uint(64, 2n ** 40n) } }]));
    expect(reader.get('192.0.2.1')).toEqual({ name: long, list: ['a', 'b'], n: 70_000, big: 2n ** 40n });
    expect([...encodeValue('DE')]).toEqual([0x42, 0x44, 0x45]);
    expect([...encodeValue('y'.repeat(80)).subarray(0, 2)]).toEqual([0b01011101, 51]);
  });

  it('refuses overlapping networks', () => {
    expect(() => writeMmdb([...NETWORKS, { network: '198.51.100.128/25', data: 'x' }])).toThrow(/overlaps/);
  });
});

describe('openGeoip', () => {
  it('gives the country of an address, the registered country when there is no country, null without a record', () => {
    const geo = openGeoip(file);
    expect(geo.country('198.51.100.7')).toBe('DE');
    expect(geo.country('203.0.113.5')).toBe('BR');
    expect(geo.country('2001:db8::1')).toBe('FR');
    expect(geo.country('2a00:1450:4001::1')).toBe('IE');
    expect(geo.country('127.0.0.1')).toBeNull();
    expect(geo.country('192.168.1.1')).toBeNull();
    expect(geo.country('not an address')).toBeNull();
  });

  it('throws KT_DETECTOR_CONFIG_INVALID for a missing or damaged file', () => {
    const damaged = join(dir, 'damaged.mmdb');
    writeFileSync(damaged, 'not a database');
    for (const path of [join(dir, 'missing.mmdb'), damaged]) {
      let error: unknown;
      try {
        openGeoip(path);
      } catch (e) {
        error = e;
      }
      expect(isKeyturnError(error, 'KT_DETECTOR_CONFIG_INVALID'), path).toBe(true);
      expect((error as Error).message).toContain(path);
    }
  });
});
