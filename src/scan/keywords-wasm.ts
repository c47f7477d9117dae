/**
 * The keyword automaton's byte loop as WebAssembly, assembled from src/scan/keywords.wat by
 * `npm run build:wasm` (scripts/build-wasm.js). Generated: do not edit;
 * src/scan/keywords-wasm.test.ts checks it matches the source.
 *
 * @example
 * ```ts
 * const module = new WebAssembly.Module(Buffer.from(KEYWORDS_WASM, 'base64'));
 * ```
 */
export const KEYWORDS_WASM =
  'AGFzbQEAAAABEAFgC39/f39/f39/f39/AX8DAgEABQMBAAEHEQIGbWVtb3J5AgAEZmluZAAACpkDAZYDAQl/QQAgAkEBdiACQYACSRshDSABIA1qIQsgASALIAVrIA0gBUkbIRICQANAIBIgC08NASAAIA8gEi0AAC0AAGpBAXRqLwEAIQ8gEkEBaiESDAALCwJAA0AgDCANTw0BIAAgDiABIAxqLQAALQAAakEBdGovAQAhDiAAIA8gCyAMai0AAC0AAGpBAXRqLwEAIQ8gDiADTwRAIBAgCk8EQEF/DwsgBiAQQQJ0aiAMQQFqNgIAIAcgEEECdGogDiAEbjYCACAQQQFqIRALIA8gA08EQCARIApPBEBBfw8LIAggEUECdGogDSAMakEBajYCACAJIBFBAnRqIA8gBG42AgAgEUEBaiERCyAMQQFqIQwMAAsLIAsgDWohEiABIAJqIRMCQANAIBIgE08NASAAIA8gEi0AAC0AAGpBAXRqLwEAIQ8gDyADTwRAIBEgCk8EQEF/DwsgCCARQQJ0aiASIAFrQQFqNgIAIAkgEUECdGogDyAEbjYCACARQQFqIRELIBJBAWohEgwACwtBgAIgETYCACAQCw==';
