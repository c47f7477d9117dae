/** Template parsing and rendering: placeholders, metadata, one-pass rendering, errors naming placeholders. */
import { describe, expect, it } from 'vitest';
import { isKeyturnError } from '../../core/errors.js';
import { parseTemplate, renderPlain, renderTemplate, templateProblems } from './template.js';

const secret = (value: string | Record<string, unknown>) => ({ path: 'p/q', versionId: 'vid', number: 3, value: value as never });

describe('templates', () => {
  it('lists placeholders once, in order, and accepts spaces inside the braces', () => {
    expect(parseTemplate('{{ a }}-{{b}}-{{a}}-{{_version}}').placeholders).toEqual(['a', 'b', '_version']);
  });

  it('renders fields exactly by name (a dot is part of the name) and non-strings as JSON', () => {
    const t = parseTemplate('{{db.host}}|{{port}}|{{tags}}|{{none}}|{{value}}');
    expect(renderTemplate(t, secret({ 'db.host': 'h', port: 5432, tags: ['a'], none: null, value: 'field-named-value' }))).toBe('h|5432|["a"]|null|field-named-value');
  });

  it('never expands a placeholder found inside a value', () => {
    expect(renderTemplate(parseTemplate('{{a}}'), secret({ a: '{{b}}', b: 'no' }))).toBe('{{b}}');
  });

  it('reports problems by position without quoting the text between the braces', () => {
    const problems = templateProblems('ok {{x}} {{ hunter2 pass }} {{_nope}} {{');
    expect(problems).toHaveLength(3);
    expect(problems.join(' ')).not.toContain('hunter2');
    expect(problems[0]).toContain('character 9');
    expect(problems[1]).toContain('{{_nope}}');
    expect(problems[2]).toContain('not closed');
    expect(templateProblems('no placeholders } { at all }}')).toEqual([]);
  });

  it('an unknown placeholder throws KT_TEMPLATE_PLACEHOLDER_UNKNOWN with the field names, not values', () => {
    try {
      renderTemplate(parseTemplate('{{missing}}'), secret({ user: 'u-val', pass: 'p-val' }));
      expect.unreachable();
    } catch (e) {
      expect(isKeyturnError(e, 'KT_TEMPLATE_PLACEHOLDER_UNKNOWN')).toBe(true);
      expect((e as Error).message).toBe('template placeholder {{missing}} names nothing in secret "p/q"; its fields are: user, pass');
    }
  });

  it('without a template writes a string as is and fields as indented JSON', () => {
    expect(renderPlain(secret('raw\n'))).toBe('raw\n');
    expect(renderPlain(secret({ a: 1 }))).toBe('{\n  "a": 1\n}\n');
  });
});
