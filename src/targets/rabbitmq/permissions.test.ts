import { describe, expect, it } from 'vitest';
import { accessLines, AccessParseError, parsePermissions, parseTags, parseTopicPermissions, syncRequests, type Access } from './permissions.js';

const NONE: Access = { tags: [], permissions: [], topicPermissions: [] };

describe('rabbitmq permissions', () => {
  it('reads the management API lists and compares users by their access, not their names', () => {
    const perms = parsePermissions([{ user: 'app', vhost: '/', configure: '^app\\.', write: '.*', read: '' }]);
    const topics = parseTopicPermissions([{ user: 'app', vhost: '/', exchange: 'amq.topic', write: '^a', read: '.*' }]);
    const lines = accessLines({ tags: ['b', 'a'], permissions: perms, topicPermissions: topics });
    expect(lines).toEqual(['permission ["/","^app\\\\.",".*",""]', 'tags a,b', 'topic ["/","amq.topic","^a",".*"]']);
    expect(parseTags({ tags: ['monitoring'] })).toEqual(['monitoring']);
    expect(parseTags({ tags: 'a,b' })).toEqual(['a', 'b']);
    expect(parseTags({ tags: [] })).toEqual([]);
  });

  it('refuses answers that are not the lists it expects', () => {
    expect(() => parsePermissions({ vhost: '/' })).toThrow(AccessParseError);
    expect(() => parsePermissions([{ vhost: '/', configure: '.*', write: 1, read: '' }])).toThrow(AccessParseError);
    expect(() => parseTags({ name: 'app' })).toThrow(AccessParseError);
  });

  it('sets missing and different permissions, removes extra ones, and escapes virtual host and user names', () => {
    const primary: Access = {
      ...NONE,
      permissions: [
        { vhost: '/', configure: '', write: '.*', read: '.*' },
        { vhost: 'a/b', configure: '.*', write: '.*', read: '.*' },
      ],
    };
    const clone: Access = {
      ...NONE,
      permissions: [
        { vhost: '/', configure: '.*', write: '.*', read: '.*' },
        { vhost: 'old', configure: '.*', write: '.*', read: '.*' },
      ],
    };
    expect(syncRequests(primary, clone, 'app clone')).toEqual([
      { method: 'DELETE', path: '/permissions/old/app%20clone', body: null },
      { method: 'PUT', path: '/permissions/%2F/app%20clone', body: { configure: '', write: '.*', read: '.*' } },
      { method: 'PUT', path: '/permissions/a%2Fb/app%20clone', body: { configure: '.*', write: '.*', read: '.*' } },
    ]);
    expect(syncRequests(primary, primary, 'app_clone')).toEqual([]);
  });

  it('clears and refills the topic permissions of a virtual host only where they differ', () => {
    const t = (vhost: string, exchange: string, write = '.*') => ({ vhost, exchange, write, read: '.*' });
    const primary: Access = { ...NONE, topicPermissions: [t('/', 'amq.topic'), t('v1', 'x'), t('v1', 'y')] };
    const clone: Access = { ...NONE, topicPermissions: [t('/', 'amq.topic'), t('v1', 'y'), t('v1', 'x', '^w'), t('v2', 'z')] };
    expect(syncRequests(primary, clone, 'c')).toEqual([
      { method: 'DELETE', path: '/topic-permissions/v1/c', body: null },
      { method: 'PUT', path: '/topic-permissions/v1/c', body: { exchange: 'x', write: '.*', read: '.*' } },
      { method: 'PUT', path: '/topic-permissions/v1/c', body: { exchange: 'y', write: '.*', read: '.*' } },
      { method: 'DELETE', path: '/topic-permissions/v2/c', body: null },
    ]);
    expect(syncRequests(primary, { ...NONE, topicPermissions: [t('v1', 'y'), t('v1', 'x'), t('/', 'amq.topic')] }, 'c')).toEqual([]);
  });
});
