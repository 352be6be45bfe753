/** Server reflection as a client sees it (what `grpcurl -plaintext ADDR list` prints), for API tests. */
import { createRequire } from 'node:module';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const require = createRequire(import.meta.url);

type ReflectionClient = grpc.Client & { ServerReflectionInfo: (options?: grpc.CallOptions) => grpc.ClientDuplexStream<object, { listServicesResponse?: { service: Array<{ name: string }> } }> };

/** The service names a server lists through reflection `version` (v1, or the older v1alpha), sorted. */
export async function listServices(address: string, version: 'v1' | 'v1alpha' = 'v1', deadlineMs = 10_000, creds: grpc.ChannelCredentials = grpc.credentials.createInsecure()): Promise<string[]> {
  const def = protoLoader.loadSync(require.resolve(`@grpc/reflection/build/proto/grpc/reflection/${version}/reflection.proto`));
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    grpc: { reflection: Record<string, { ServerReflection: new (a: string, c: grpc.ChannelCredentials) => ReflectionClient }> };
  };
  const Client = pkg.grpc.reflection[version]?.ServerReflection;
  if (!Client) throw new Error(`no reflection ${version} in @grpc/reflection`);
  const client = new Client(address, creds);
  try {
    const call = client.ServerReflectionInfo({ deadline: Date.now() + deadlineMs });
    const names = await new Promise<string[]>((resolve, reject) => {
      call.on('data', (m) => {
        resolve((m.listServicesResponse?.service ?? []).map((s: { name: string }) => s.name));
        call.end();
      });
      call.on('error', reject);
      call.write({ listServices: '' });
    });
    return names.sort();
  } finally {
    client.close();
  }
}
