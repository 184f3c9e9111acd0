/** The Kubernetes client module (loaded on first use) and the kubeconfig the watchers share. */
import type { KubeConfig } from "@kubernetes/client-node";

export type ClientModule = typeof import("@kubernetes/client-node");

/**
 * The client module and a kubeconfig from `path`, or the default places (in-cluster service
 * account, $KUBECONFIG, ~/.kube/config), with its cluster's server. Throws when it names
 * no current cluster.
 */
export async function loadKubeConfig(path: string | undefined): Promise<{ k8s: ClientModule; kc: KubeConfig; server: string }> {
  const k8s: ClientModule = await import("@kubernetes/client-node");
  const kc = new k8s.KubeConfig();
  if (path) kc.loadFromFile(path);
  else kc.loadFromDefault();
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error(`no current cluster in the kubeconfig ${path || "(default)"}`);
  return { k8s, kc, server: cluster.server };
}
