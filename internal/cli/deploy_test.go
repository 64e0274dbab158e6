package cli

import (
	"bytes"
	"os"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// TestEmulatorManifest decodes deploy/emulator.yaml into the Kubernetes
// API types, strictly, and checks that its arguments parse as emulate's
// flags and its probes and Service point at the port the emulator serves.
func TestEmulatorManifest(t *testing.T) {
	data, err := os.ReadFile("../../deploy/emulator.yaml")
	if err != nil {
		t.Fatal(err)
	}
	docs := bytes.Split(data, []byte("\n---\n"))
	if len(docs) != 2 {
		t.Fatalf("%d documents, want a Deployment and a Service", len(docs))
	}
	var dep appsv1.Deployment
	if err := yaml.UnmarshalStrict(docs[0], &dep); err != nil {
		t.Fatalf("Deployment: %v", err)
	}
	var svc corev1.Service
	if err := yaml.UnmarshalStrict(docs[1], &svc); err != nil {
		t.Fatalf("Service: %v", err)
	}
	if dep.Kind != "Deployment" || svc.Kind != "Service" {
		t.Fatalf("kinds %q and %q", dep.Kind, svc.Kind)
	}
	for k, v := range dep.Spec.Selector.MatchLabels {
		if dep.Spec.Template.Labels[k] != v || svc.Spec.Selector[k] != v {
			t.Errorf("label %s=%s: the pod template and the Service must carry the Deployment's selector", k, v)
		}
	}
	c := dep.Spec.Template.Spec.Containers[0]
	if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil || c.ReadinessProbe.HTTPGet.Path != "/health" {
		t.Error("readiness probe: want GET /health")
	}
	e := &env{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, getenv: func(string) string { return "" }}
	fs := newFlags(e, "emulate", "")
	ss := newSimSetup(fs, false)
	host := fs.String("host", "", "")
	port := fs.Int("port", 0, "")
	fs.String("served-model-name", "", "")
	fs.Duration("drain-timeout", 0, "")
	if c.Args[0] != "emulate" {
		t.Fatalf("args %v: want the emulate command", c.Args)
	}
	if err := parse(fs, c.Args[1:]); err != nil {
		t.Fatalf("args %v: %v", c.Args, err)
	}
	if _, _, _, err := ss.deployment(e, fs); err != nil {
		t.Fatalf("args %v: the deployment does not resolve: %v", c.Args, err)
	}
	if *host != "0.0.0.0" || int32(*port) != c.Ports[0].ContainerPort || svc.Spec.Ports[0].TargetPort.String() != c.Ports[0].Name {
		t.Errorf("listens on %s:%d; container port %d (%s); Service targets %s: want them to agree on all interfaces",
			*host, *port, c.Ports[0].ContainerPort, c.Ports[0].Name, svc.Spec.Ports[0].TargetPort.String())
	}
	if g := dep.Spec.Template.Spec.TerminationGracePeriodSeconds; g == nil || !strings.Contains(strings.Join(c.Args, " "), "--drain-timeout 60s") || *g <= 60 {
		t.Error("termination grace period: want longer than --drain-timeout, so in-flight streams drain on SIGTERM")
	}
}
