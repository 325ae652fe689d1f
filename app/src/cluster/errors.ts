import type { ErrorCodeDoc } from "../shared/errors";

/**
 * Every code the leader election and its Lease API client raise, with what it means and what to
 * do: rendered into docs/troubleshooting.md with the other modules' lists.
 */
export const CLUSTER_ERROR_CODES = {
  ELECTION_SETTINGS_INVALID: {
    meaning:
      "The renew deadline is not shorter than the lease duration: a leader could lose the Lease before it notices, and two replicas would poll at once. The service does not start.",
    action:
      "Set LEADER_ELECTION_RENEW_DEADLINE_SECONDS below LEADER_ELECTION_LEASE_DURATION_SECONDS (chart: leaderElection.renewDeadlineSeconds, leaseDurationSeconds).",
  },
  LEASE_CONFLICT: {
    meaning:
      "Another replica wrote the Lease between this replica's read and its write (HTTP 409): the normal race of an election, lost cleanly.",
    action:
      "Nothing: the replica reads the Lease again at its next try. Only a steady stream of them is worth a look.",
  },
  LEASE_UNAUTHORIZED: {
    meaning:
      "The Kubernetes API did not accept the pod's service account token (HTTP 401): it is not a token of this cluster, or it expired and was not rotated.",
    action:
      "Check that the pod mounts its service account token (the chart sets automountServiceAccountToken while leaderElection.enabled is true) and that the API server the service calls is this cluster's.",
  },
  LEASE_FORBIDDEN: {
    meaning:
      "The service account may not get, create or update Leases in the namespace (HTTP 403): no replica can lead, so the results export stops.",
    action:
      "The chart's Role and RoleBinding (templates/rbac.yaml) grant get, create and update on leases.coordination.k8s.io in the release's namespace to the pod's service account: check they exist and bind the account the pod runs as.",
  },
  LEASE_INVALID: {
    meaning:
      "The Kubernetes API refused the Lease as invalid (HTTP 422): a name, identity or field it does not accept.",
    action:
      "The log has the API server's message: check LEADER_ELECTION_LEASE_NAME and POD_NAME against Kubernetes' naming rules.",
  },
  LEASE_HTTP_ERROR: {
    meaning: "The Kubernetes API answered with another error status (5xx, 429...): the election tries again.",
    action:
      "Usually transient (an API server restart); if it lasts, check the API server's health and the egress policy to it (TCP 443/6443).",
  },
  LEASE_API_UNREACHABLE: {
    meaning: "The Kubernetes API did not answer (refused, reset, timed out): the election tries again.",
    action:
      "Check that the NetworkPolicy lets the pods reach the API server (egress apiServerCidrs) and that KUBERNETES_SERVICE_HOST routes to it.",
  },
  LEASE_VERSION_MISSING: {
    meaning:
      "Code tried to replace a Lease without the resourceVersion it read (a programming error): the write would have ignored a concurrent change.",
    action: "Report it with the log line; the election keeps working from its next read.",
  },
} as const satisfies Record<string, ErrorCodeDoc>;

export type ClusterErrorCode = keyof typeof CLUSTER_ERROR_CODES;
