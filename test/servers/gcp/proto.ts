/**
 * The Secret Manager v1 service definition for the local gRPC server, loaded from the protos the
 * official SDK ships (node_modules/@google-cloud/secret-manager/build/protos) with google-gax's
 * common protos (google/api, google/iam, google/protobuf, google/rpc) for its imports.
 *
 * @example
 * ```ts
 * const service = secretManagerService(); // grpc.ServiceDefinition for server.addService
 * ```
 */
import { createRequire } from 'node:module';
import { join, sep } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const require = createRequire(import.meta.url);

/** The folder of an installed package (found from its main module: not every package exports its package.json). */
function packageDir(name: string): string {
  const main = require.resolve(name);
  const marker = `${sep}node_modules${sep}${name.split('/').join(sep)}${sep}`;
  const at = main.lastIndexOf(marker);
  if (at < 0) throw new Error(`cannot find the folder of ${name} from ${main}`);
  return main.slice(0, at + marker.length - 1);
}

let cached: grpc.ServiceDefinition | undefined;

/** SecretManagerService as grpc-js loads it: camelCase fields, enums as names, int64 as numbers, bytes as Buffers. */
export function secretManagerService(): grpc.ServiceDefinition {
  if (cached) return cached;
  const sdk = join(packageDir('@google-cloud/secret-manager'), 'build', 'protos');
  const common = join(packageDir('google-gax'), 'build', 'protos');
  const definition = protoLoader.loadSync('google/cloud/secretmanager/v1/service.proto', {
    includeDirs: [sdk, common],
    keepCase: false,
    longs: Number,
    enums: String,
    defaults: false,
    oneofs: true,
  });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    google: { cloud: { secretmanager: { v1: { SecretManagerService: { service: grpc.ServiceDefinition } } } } };
  };
  cached = pkg.google.cloud.secretmanager.v1.SecretManagerService.service;
  return cached;
}
