using MarketStream.Deployment.Tests.Infrastructure;

namespace MarketStream.Deployment.Tests;

/// <summary>Each overlay renders with kubectl kustomize and passes eng/k8s-validate (schemas, references, policy).</summary>
public sealed class ManifestValidationTests
{
    public static TheoryData<string> Overlays => [.. Manifests.Overlays];

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task Overlay_renders_and_validates(string overlay)
    {
        var rendered = await Manifests.RenderAsync(overlay).WaitAsync(TimeSpan.FromMinutes(8));

        Assert.StartsWith("ok:", rendered.ValidatorSummary.Trim(), StringComparison.Ordinal);
        string[] expectedKinds =
        [
            "Namespace", "ConfigMap", "Deployment", "Service", "Ingress", "HorizontalPodAutoscaler",
            "PodDisruptionBudget", "NetworkPolicy", "ServiceMonitor", "Kafka", "KafkaNodePool", "KafkaTopic",
        ];
        foreach (var kind in expectedKinds)
        {
            Assert.True(rendered.OfKind(kind).Any(), $"{overlay}: no {kind} rendered");
        }
    }

    [Fact]
    public async Task Validator_rejects_broken_manifests()
    {
        var good = await Manifests.RenderAsync("prod").WaitAsync(TimeSpan.FromMinutes(8));
        var broken = good.Yaml
            .Replace("containerPort: 8080", "containerPort: \"8080\"", StringComparison.Ordinal)
            .Replace("apiVersion: policy/v1", "apiVersion: policy/v9", StringComparison.Ordinal)
            .Replace("type: internal", "type: internl", StringComparison.Ordinal)
            .Replace("readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false", StringComparison.Ordinal);

        var result = await Manifests.ValidateAsync(broken, json: false).WaitAsync(TimeSpan.FromMinutes(3));

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("containerPort must be integer", result.StdErr, StringComparison.Ordinal);
        Assert.Contains("no schema known for policy/v9 PodDisruptionBudget", result.StdErr, StringComparison.Ordinal);
        Assert.Contains("listeners/0/type must be equal to one of the allowed values", result.StdErr, StringComparison.Ordinal);
        Assert.Contains("readOnlyRootFilesystem must be true", result.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Production_keeps_three_gateways_and_two_through_disruptions()
    {
        var prod = await Manifests.RenderAsync("prod").WaitAsync(TimeSpan.FromMinutes(8));

        Assert.True(prod.GatewayDeployment.At("spec", "replicas").GetInt32() >= 3);
        Assert.Equal(3, prod.Single("HorizontalPodAutoscaler").At("spec", "minReplicas").GetInt32());
        Assert.Equal(2, prod.Single("PodDisruptionBudget").At("spec", "minAvailable").GetInt32());
        Assert.Equal(3, prod.Single("KafkaNodePool").At("spec", "replicas").GetInt32());
        Assert.StartsWith("marketstream/gateway:", prod.GatewayContainer.At("image").GetString(), StringComparison.Ordinal);
    }
}
