import { describe, expect, it } from 'vitest';
import { isKeyturnError } from '../core/errors.js';
import { storeRegistry } from './registry.js';

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
