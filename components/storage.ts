import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

export type SharedStorageArgs = {
  readonly namespace: pulumi.Input<string>;
  readonly claimName: string;
  /** Requested size (the stack's default: 50Gi). */
  readonly size: string;
} &
  /** A PersistentVolume on the platform's export, bound to the claim. */
  (
    | { readonly mode: "nfs"; readonly nfsServer: string; readonly nfsPath: string }
    /** A claim on a ReadWriteMany class. */
    | { readonly mode: "storageClass"; readonly storageClassName: string }
  );

/**
 * The shared ReadWriteMany volume that on-premises writers and every replica use. The NFS
 * export must be writable by uid:gid 500:500 on the server: fsGroup does not change ownership on
 * NFS (README, "Preparing the NFS export").
 */
export class SharedStorage extends pulumi.ComponentResource {
  public readonly volume: k8s.core.v1.PersistentVolume | undefined;
  public readonly claim: k8s.core.v1.PersistentVolumeClaim;

  constructor(name: string, args: SharedStorageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("genesys:middleware:SharedStorage", name, args, opts);
    let binding: k8s.types.input.core.v1.PersistentVolumeClaimSpec;
    if (args.mode === "nfs") {
      const volume = new k8s.core.v1.PersistentVolume(
        `${name}-pv`,
        {
          metadata: { name: `${name}-pv` },
          spec: {
            capacity: { storage: args.size },
            accessModes: ["ReadWriteMany"],
            persistentVolumeReclaimPolicy: "Retain",
            storageClassName: "",
            mountOptions: ["nfsvers=4.1", "hard"],
            nfs: { server: args.nfsServer, path: args.nfsPath },
          },
        },
        { parent: this },
      );
      this.volume = volume;
      binding = { storageClassName: "", volumeName: volume.metadata.name };
    } else binding = { storageClassName: args.storageClassName };
    this.claim = new k8s.core.v1.PersistentVolumeClaim(
      `${name}-pvc`,
      {
        metadata: { name: args.claimName, namespace: args.namespace },
        spec: {
          accessModes: ["ReadWriteMany"],
          resources: { requests: { storage: args.size } },
          ...binding,
        },
      },
      { parent: this },
    );
    this.registerOutputs({ volume: this.volume, claim: this.claim });
  }
}
