package deploy

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// The LeaderWorkerSet API (leaderworkerset.x-k8s.io/v1). Its Go module,
// sigs.k8s.io/lws, is not served by the module proxy this project builds
// from, so these types mirror the published ones field for field, with
// the same JSON names (kubernetes-sigs/lws api/leaderworkerset/v1/
// leaderworkerset_types.go at 060ab4d, Aug 2026), for the fields ersatz
// emits and the ones a reader of the spec expects; status is left out.

// LeaderWorkerSet is a set of groups of pods: one leader and size-1
// workers per group, created, scaled and restarted together.
type LeaderWorkerSet struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              LeaderWorkerSetSpec `json:"spec,omitempty"`
}

// LeaderWorkerSetSpec mirrors lws v1 LeaderWorkerSetSpec.
type LeaderWorkerSetSpec struct {
	// Replicas is the number of groups.
	Replicas             *int32               `json:"replicas,omitempty"`
	LeaderWorkerTemplate LeaderWorkerTemplate `json:"leaderWorkerTemplate"`
	RolloutStrategy      *RolloutStrategy     `json:"rolloutStrategy,omitempty"`
	StartupPolicy        string               `json:"startupPolicy,omitempty"` // LeaderCreated | LeaderReady
	NetworkConfig        *NetworkConfig       `json:"networkConfig,omitempty"`
}

// LeaderWorkerTemplate mirrors lws v1 LeaderWorkerTemplate.
type LeaderWorkerTemplate struct {
	LeaderTemplate *corev1.PodTemplateSpec `json:"leaderTemplate,omitempty"`
	WorkerTemplate corev1.PodTemplateSpec  `json:"workerTemplate"`
	// Size is the pods per group, the leader included.
	Size *int32 `json:"size,omitempty"`
	// RestartPolicy: RecreateGroupOnPodRestart | RecreateGroupAfterStart | None.
	RestartPolicy  string          `json:"restartPolicy,omitempty"`
	SubGroupPolicy *SubGroupPolicy `json:"subGroupPolicy,omitempty"`
}

// SubGroupPolicy mirrors lws v1 SubGroupPolicy.
type SubGroupPolicy struct {
	Type         *string `json:"subGroupPolicyType,omitempty"`
	SubGroupSize *int32  `json:"subGroupSize,omitempty"`
}

// RolloutStrategy mirrors lws v1 RolloutStrategy.
type RolloutStrategy struct {
	Type                       string                      `json:"type"`
	RollingUpdateConfiguration *RollingUpdateConfiguration `json:"rollingUpdateConfiguration,omitempty"`
}

// RollingUpdateConfiguration mirrors lws v1 RollingUpdateConfiguration.
type RollingUpdateConfiguration struct {
	Partition      *int32              `json:"partition,omitempty"`
	MaxUnavailable *intstr.IntOrString `json:"maxUnavailable,omitempty"`
	MaxSurge       *intstr.IntOrString `json:"maxSurge,omitempty"`
}

// NetworkConfig mirrors lws v1 NetworkConfig.
type NetworkConfig struct {
	SubdomainPolicy *string `json:"subdomainPolicy"` // Shared | UniquePerReplica
}

// LWS names ersatz uses.
const (
	lwsAPIVersion = "leaderworkerset.x-k8s.io/v1"
	lwsSetName    = "leaderworkerset.sigs.k8s.io/name"
)
