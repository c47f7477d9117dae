/**
 * The country of a client address, from a MaxMind DB file (GeoLite2-Country or GeoIP2-Country
 * format; a City database works too, it has the same `country` record) read with the `maxmind`
 * package. Used by the unusual-source detector's `allowedCountries`.
 *
 * The file is read once, whole, when the detector is made (a Country database is a few MB). An
 * address the database has no record for (loopback, the private and link-local ranges, and any
 * range the database leaves out) has no country: null. A record without `country` (some
 * anonymous-proxy and satellite ranges) gives its `registered_country` when it has one.
 *
 * @example
 * ```ts
 * const geo = openGeoip('/var/lib/GeoIP/GeoLite2-Country.mmdb');
 * geo.country('203.0.113.7'); // 'DE', or null when the database has no record
 * ```
 */
import { readFileSync } from 'node:fs';
import { Reader, type CountryResponse } from 'maxmind';
import { KeyturnError } from '../core/errors.js';

/** Country lookups in one database. */
export interface Geoip {
  /** The ISO 3166-1 alpha-2 code (upper case) of the country of `address`, or null when the database has none for it. */
  country(address: string): string | null;
}

/**
 * Opens the MaxMind DB file at `path`, or throws KT_DETECTOR_CONFIG_INVALID naming the file and why.
 *
 * @example
 * ```ts
 * openGeoip('/nonexistent.mmdb'); // throws KT_DETECTOR_CONFIG_INVALID: geoipDatabase: cannot open /nonexistent.mmdb (ENOENT)
 * ```
 */
export function openGeoip(path: string): Geoip {
  let reader: Reader<CountryResponse>;
  try {
    reader = new Reader<CountryResponse>(readFileSync(path));
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new KeyturnError('KT_DETECTOR_CONFIG_INVALID', `geoipDatabase: cannot open ${path} as a MaxMind DB file (${why})`, { details: { path } });
  }
  return {
    country(address) {
      let record: CountryResponse | null;
      try {
        record = reader.get(address);
      } catch {
        return null;
      }
      const code = record?.country?.iso_code ?? record?.registered_country?.iso_code;
      return typeof code === 'string' ? code.toUpperCase() : null;
    },
  };
}
