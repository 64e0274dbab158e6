module ersatz

go 1.26.8

require (
	go.yaml.in/yaml/v2 v2.4.2 // indirect
	golang.org/x/sys v0.50.0 // indirect
	golang.org/x/term v0.48.0 // indirect
	sigs.k8s.io/yaml v1.6.0 // indirect
)
