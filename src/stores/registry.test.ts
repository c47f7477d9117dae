import { describe, expect, it } from 'vitest';
import { isKeyturnError } from '../core/errors.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prepareStore, storeKinds, storeRegistry } from './registry.js';
import { readStoreFile } from './store-file.js';

describe('the store registry', () => {
  it('an entry without a schema (configured by settings) takes its config as given; an unknown type is refused with its code', () => {
    expect(storeRegistry.kinds).toEqual(['embedded']);
    expect(storeRegistry.parse({ type: 'embedded' })).toEqual({ type: 'embedded' });
    let message = '';
    try {
      storeRegistry.parse({ type: 'vault' });
    } catch (e) {
      if (!isKeyturnError(e)) throw e;
      message = `${e.code}: ${e.message}`;
    }
    expect(message).toBe('KT_STORE_CONFIG_INVALID: the store configuration is not valid: type: type must be one of: embedded');
  });
});

describe('prepareStore', () => {
  it('refuses a config that is not an object, or an unknown type, naming the kinds there are', async () => {
    const deps = {} as Parameters<typeof prepareStore>[1];
    for (const [input, problem] of [
      ['vault', `a store must be an object with a type (${storeKinds().join(', ')})`],
      [{ type: 'nope' }, `type: type must be one of: ${storeKinds().join(', ')}`],
    ] as const) {
      const e = await prepareStore(input, deps).then(
        () => null,
        (err: unknown) => err,
      );
      expect(isKeyturnError(e, 'KT_STORE_CONFIG_INVALID'), String(e)).toBe(true);
      expect((e as { details: { problems: string[] } }).details.problems).toEqual([problem]);
    }
  });

  it('reads the store file as YAML; an unreadable or broken file is KT_STORE_CONFIG_INVALID naming it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kt-store-file-'));
    const file = join(dir, 'store.yaml');
    writeFileSync(file, 'type: embedded\n');
    expect(readStoreFile(file)).toEqual({ type: 'embedded' });
    writeFileSync(file, 'type: [\n');
    expect(() => readStoreFile(file)).toThrow(/store file .*store\.yaml is not valid YAML/);
    expect(() => readStoreFile(join(dir, 'missing.yaml'))).toThrow(/missing\.yaml \(KEYTURN_STORE_FILE\) cannot be read \(ENOENT\)/);
  });
});
