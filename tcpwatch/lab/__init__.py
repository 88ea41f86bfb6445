"""The lab beside the analyzer: the bundled servers (servers/), the scenarios that make
real traffic in network namespaces and record it (scenarios/), and the differential
fuzzer of random traffic (difftest/).  Nothing in the analyzer imports from here."""
