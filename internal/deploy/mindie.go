package deploy

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// MindIE, Huawei's serving engine on Ascend, is configured by a file, not
// flags: {install}/latest/mindie-service/conf/config.json, read by
// mindieservice_daemon. The fields and their defaults are those of the
// MindIE-LLM service configuration reference (docs/zh/user_guide/
// user_manual/service_parameter_configuration.md). ersatz emits it for
// single-node aggregated plans; multi-node MindIE needs a rank table and
// P/D needs MindIE Motor, which it does not write.
const (
	mindieHome   = "/usr/local/Ascend/mindie/latest/mindie-service" // the image's install path (assumed; the docs write {MindIE安装目录})
	mindiePort   = 1025                                             // ServerConfig.port default
	mindieModels = "/models"                                        // where the model-cache volume holds the weights
	mindieImage  = "swr.cn-south-1.myhuaweicloud.com/ascendhub/mindie:REPLACE-ME-800I-A2-py311-openeuler24.03-lts (pick a release; pulling needs an approved Ascend account)"
)

// mindieCheck refuses what the emitted MindIE config cannot carry.
func mindieCheck(ps []*pool) error {
	for _, pl := range ps {
		switch {
		case pl.stack.vendor != "huawei":
			return fmt.Errorf("engine mindie: %s is a %s chip; MindIE serves Ascend only", pl.chip.ID, pl.chip.Vendor)
		case pl.other != nil:
			return fmt.Errorf("engine mindie: disaggregated plans need MindIE Motor, which ersatz does not emit; plan with --engine vllm (vllm-ascend)")
		case pl.nodes > 1:
			return fmt.Errorf("engine mindie: an instance of %d devices spans %d nodes and needs a rank table, which ersatz does not emit; plan with --engine vllm (vllm-ascend)", pl.layout.devices(), pl.nodes)
		}
	}
	return nil
}

// mindieConfig is config.json for one instance of the pool.
func (o *Options) mindieConfig(pl *pool) ([]byte, []note) {
	seqs, tokens, _ := o.batchDefaults(pl)
	n := pl.layout.devices()
	ids := make([]int, n)
	for i := range ids {
		ids[i] = i
	}
	maxInput := o.MaxModelLen - 1 // maxInputTokenLen ≤ maxSeqLen - 1
	cfg := map[string]any{
		"Version": "1.0.0",
		"ServerConfig": map[string]any{
			// MIES_CONTAINER_IP (the pod IP) overrides ipAddress.
			"ipAddress": "127.0.0.1", "port": mindiePort, "managementPort": 1026, "metricsPort": 1027,
			"allowAllZeroIpListening": false, "maxLinkNum": 1000, "httpsEnabled": false,
			"inferMode": "standard", "openAiSupport": "vllm", "tokenTimeout": 600, "e2eTimeout": 600,
		},
		"BackendConfig": map[string]any{
			"backendName": "mindieservice_llm_engine", "modelInstanceNumber": 1, "npuDeviceIds": [][]int{ids},
			"tokenizerProcessNumber": 8, "multiNodesInferEnabled": false,
			"ModelDeployConfig": map[string]any{
				"maxSeqLen": o.MaxModelLen, "maxInputTokenLen": maxInput, "truncation": false,
				"ModelConfig": []map[string]any{{
					"modelInstanceType": "Standard", "modelName": o.Name, "modelWeightPath": mindieModels + "/" + o.Model,
					"worldSize": n, "cpuMemSize": 5, "npuMemSize": -1, "backendType": "atb", "trustRemoteCode": false,
				}},
			},
			"ScheduleConfig": map[string]any{
				"templateType": "Standard", "templateName": "Standard_LLM", "cacheBlockSize": 128,
				"maxPrefillBatchSize": 50, "maxPrefillTokens": max(tokens, maxInput),
				"prefillTimeMsPerReq": 150, "prefillPolicyType": 0, "decodeTimeMsPerReq": 50, "decodePolicyType": 0,
				"maxBatchSize": seqs, "maxIterTimes": o.MaxModelLen, "maxPreemptCount": 0, "supportSelectBatch": false,
				"maxQueueDelayMicroseconds": 5000,
			},
		},
		"LogConfig": map[string]any{"dynamicLogLevel": "", "dynamicLogLevelValidHours": 2, "dynamicLogLevelValidTime": ""},
	}
	b, _ := json.MarshalIndent(cfg, "", "  ") // maps of numbers, strings and bools always marshal
	notes := []note{
		{text: "image: " + mindieImage, placeholder: true},
		{text: "MindIE loads weights from a local path: put the checkpoint of " + o.Model + " at " + mindieModels + "/" + o.Model + " on the model-cache volume", placeholder: true},
		{text: "httpsEnabled is false (MindIE's default is true, with certificates under " + mindieHome + "/security); put TLS in front or give it certificates"},
		{text: "the MindIE install path " + mindieHome + " is the image's usual one; check yours"},
	}
	if pl.layout.DP > 1 || pl.layout.EP > 1 {
		notes = append(notes, note{text: fmt.Sprintf("the plan's %s runs as worldSize %d; MindIE's service config documents no DP/EP fields", layoutString(pl.layout), n)})
	}
	if pl.weights != "bf16" && pl.weights != "fp16" {
		notes = append(notes, note{text: "serve a ModelSlim " + strings.ToUpper(pl.weights) + " checkpoint; MindIE reads the quantization from it"})
	}
	return b, notes
}

// mindieEnv sets the bind address and the memory share (NPU_MEMORY_FRACTION,
// MindIE's default 0.8) to what the plan assumed.
func (o *Options) mindieEnv(pl *pool) []corev1.EnvVar {
	_, _, util := o.batchDefaults(pl)
	return []corev1.EnvVar{
		{Name: "MIES_CONTAINER_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
		{Name: "NPU_MEMORY_FRACTION", Value: strconv.FormatFloat(util, 'g', -1, 64)},
	}
}

// mindieKubernetes is a ConfigMap with config.json, a Deployment that
// mounts it and runs the daemon, and a Service on the daemon's port.
func (o *Options) mindieKubernetes(pl *pool) []any {
	cfg, _ := o.mindieConfig(pl)
	cmName := pl.name + "-mindie-config"
	cm := &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: o.meta(cmName, o.labels(pl)),
		Data:       map[string]string{"config.json": string(cfg)},
	}
	d := o.deployment(pl, command{argv: []string{mindieHome + "/bin/mindieservice_daemon"}, exe: 1})
	spec := &d.Spec.Template.Spec
	ctr := &spec.Containers[0]
	ctr.Image = strings.SplitN(mindieImage, " ", 2)[0]
	ctr.Command, ctr.Args = []string{mindieHome + "/bin/mindieservice_daemon"}, nil
	ctr.Env = append(ctr.Env[:1], o.mindieEnv(pl)...)
	ctr.Ports = []corev1.ContainerPort{{Name: "http", ContainerPort: mindiePort, Protocol: corev1.ProtocolTCP}}
	tcp := func(period, failures int32) *corev1.Probe {
		return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(mindiePort)}},
			PeriodSeconds: period, FailureThreshold: failures}
	}
	ctr.StartupProbe, ctr.ReadinessProbe = tcp(10, 360), tcp(10, 3)
	for i := range ctr.VolumeMounts {
		if ctr.VolumeMounts[i].Name == "model-cache" {
			ctr.VolumeMounts[i].MountPath = mindieModels
		}
	}
	ctr.VolumeMounts = append(ctr.VolumeMounts, corev1.VolumeMount{Name: "mindie-config", MountPath: mindieHome + "/conf/config.json", SubPath: "config.json"})
	spec.Volumes = append(spec.Volumes, corev1.Volume{Name: "mindie-config",
		VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: cmName}}}})
	svc := o.service(pl)
	svc.Spec.Ports = []corev1.ServicePort{{Name: "http", Port: mindiePort, TargetPort: intstr.FromInt32(mindiePort), Protocol: corev1.ProtocolTCP}}
	return []any{cm, d, svc}
}

// mindieLaunch is the launch.sh section of a MindIE pool: write the
// config, then run the daemon.
func (o *Options) mindieLaunch(pl *pool) string {
	cfg, _ := o.mindieConfig(pl)
	_, _, util := o.batchDefaults(pl)
	return fmt.Sprintf("  export MIES_CONTAINER_IP=\"${MIES_CONTAINER_IP:?set it to the address of this node}\" NPU_MEMORY_FRACTION=%s\n"+
		"  cat > %s/conf/config.json <<'EOF'\n%s\nEOF\n  exec %s/bin/mindieservice_daemon\n  ;;\n",
		strconv.FormatFloat(util, 'g', -1, 64), mindieHome, cfg, mindieHome)
}
