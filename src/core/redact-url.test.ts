import { describe, expect, it } from 'vitest';
import { isSensitiveParam, redactUrl, redactUrlsIn } from './redact-url.js';

describe('redactUrl', () => {
  it('hides a userinfo password and credential query parameters, any case', () => {
    expect(redactUrl('postgres://u:pw@db:5432/app')).toBe('postgres://u:***@db:5432/app');
    expect(redactUrl('postgres://u@h/db?password=P&application_name=kt')).toBe('postgres://u@h/db?password=***&application_name=kt');
    expect(redactUrl('https://siem/x?Token=T&a=1&API_KEY=K&sig=S&sslpassword=Q&sslkey=/k.pem')).toBe('https://siem/x?Token=***&a=1&API_KEY=***&sig=***&sslpassword=***&sslkey=***');
    expect(redactUrl('https://s3/x?X-Amz-Signature=S&X-Amz-Credential=C&X-Amz-Security-Token=T')).not.toMatch(/=[SCT](&|$)/);
    expect(redactUrl('https://h/cb#access_token=T&state=1')).toBe('https://h/cb#access_token=***&state=1');
  });

  it('leaves a URL without secrets exactly as new URL() writes it (cursor names stay stable)', () => {
    for (const url of ['https://siem.example/ingest', 'http://127.0.0.1:8080/x?a=1&b=%20c', 'postgres://keyturn@db:5432/keyturn?sslmode=require', 'HTTPS://Siem/a?x=']) {
      expect(redactUrl(url)).toBe(new URL(url).toString());
    }
  });

  it('an unparseable URL shows only its scheme', () => {
    expect(redactUrl('postgres://u:p@[bad/x?password=P')).toBe('postgres://(unparseable url)');
  });

  it('knows credential names and not ordinary ones', () => {
    for (const n of ['password', 'PASSWD', 'pass', 'pwd', 'token', 'access_token', 'key', 'apikey', 'api-key', 'secret', 'client_secret', 'signature', 'auth', 'credentials', 'sslpassword', 'sslkey'])
      expect(isSensitiveParam(n), n).toBe(true);
    for (const n of ['sslmode', 'application_name', 'user', 'host', 'options', 'connect_timeout']) expect(isSensitiveParam(n), n).toBe(false);
  });

  it('redacts URLs inside a text', () => {
    expect(redactUrlsIn('cannot reach postgres://u:pw@h/db?password=P: refused')).toBe('cannot reach postgres://u:***@h/db?password=***: refused');
  });
});
