global using Microsoft.AspNetCore.Builder;
global using Microsoft.Extensions.DependencyInjection;
global using Xunit.Abstractions;

// These tests measure latency and timeouts with real sockets and a real (embedded) Kafka cluster on two shared
// cores; running them side by side would make each one's timing the others' noise.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
