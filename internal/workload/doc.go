// Package workload produces the request streams a serving simulation
// replays: synthetic ones from arrival processes and length distributions,
// and real ones read from public production traces.
//
// Everything is streaming. A Source hands out one request at a time into a
// caller-owned Request, so a million-request run holds only the requests in
// flight, and trace readers never load a whole file. Randomness comes from a
// *rand.Rand the caller seeds, so equal seeds give equal streams.
package workload
