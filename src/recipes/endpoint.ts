/** Where clients reach the API: kubeadm's controlPlaneEndpoint, the operator's kubeconfig. */
export interface Endpoint {
  host: string;
  port: number;
}
