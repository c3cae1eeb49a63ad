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
            "Namespace", "ConfigMap", "Deployment", "Service", "Gateway", "HTTPRoute", "HorizontalPodAutoscaler",
            "PodDisruptionBudget", "NetworkPolicy", "ServiceMonitor", "Kafka", "KafkaNodePool", "KafkaTopic",
        ];
        foreach (var kind in expectedKinds)
        {
            Assert.True(rendered.OfKind(kind).Any(), $"{overlay}: no {kind} rendered");
        }
    }

    /// <summary>
    /// The HPA owns the gateway count, so nothing an apply re-sends may set it; pods are sized so node pressure does
    /// not evict them before the ones that overuse, and are not CPU-throttled; a rollout drains one pod at a time.
    /// </summary>
    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task The_HPA_owns_the_count_pods_are_not_evicted_first_nor_throttled_and_rollouts_drain_one_pod_at_a_time(string overlay)
    {
        var rendered = await Manifests.RenderAsync(overlay).WaitAsync(TimeSpan.FromMinutes(8));
        foreach (var hpa in rendered.OfKind("HorizontalPodAutoscaler"))
        {
            var target = rendered.Named("Deployment", hpa.At("spec", "scaleTargetRef", "name").GetString()!);
            Assert.False(target.At("spec").TryGetProperty("replicas", out _), $"{overlay}: replicas beside an HPA: every apply resets the fleet");
        }

        var resources = rendered.GatewayContainer.At("resources");
        Assert.Equal(resources.At("requests", "memory").GetString(), resources.At("limits", "memory").GetString());
        Assert.False(resources.At("limits").TryGetProperty("cpu", out _), $"{overlay}: a CPU limit throttles a latency-sensitive service");
        var env = rendered.GatewayEnvironment;
        Assert.True(int.TryParse(env.GetValueOrDefault("DOTNET_PROCESSOR_COUNT"), out var processors) && processors >= 1, $"{overlay}: DOTNET_PROCESSOR_COUNT unset");
        Assert.True(double.Parse(resources.At("requests", "cpu").GetString()!.TrimEnd('m'), System.Globalization.CultureInfo.InvariantCulture)
            / (resources.At("requests", "cpu").GetString()!.EndsWith('m') ? 1000 : 1) <= processors,
            $"{overlay}: DOTNET_PROCESSOR_COUNT below the CPU request");

        var drain = int.Parse(env["Feed__Gateway__DrainSeconds"], System.Globalization.CultureInfo.InvariantCulture);
        var close = int.Parse(env["Feed__Gateway__CloseTimeoutMs"], System.Globalization.CultureInfo.InvariantCulture) / 1000;
        var spec = rendered.GatewayDeployment.At("spec");
        Assert.True(spec.At("minReadySeconds").GetInt32() >= drain + close,
            $"{overlay}: minReadySeconds {spec.At("minReadySeconds").GetInt32()} < drain {drain} s + close {close} s: two pods would drain at once");
        Assert.Equal(1, spec.At("strategy", "rollingUpdate", "maxSurge").GetInt32());
        Assert.Equal(0, spec.At("strategy", "rollingUpdate", "maxUnavailable").GetInt32());
    }

    /// <summary>Kafka is closed to every pod that is not one of ours, and each of ours may do only its job.</summary>
    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task Kafka_takes_only_authenticated_TLS_clients_and_each_user_may_do_only_its_job(string overlay)
    {
        var rendered = await Manifests.RenderAsync(overlay).WaitAsync(TimeSpan.FromMinutes(8));
        var kafka = rendered.Single("Kafka").At("spec", "kafka");
        foreach (var listener in kafka.At("listeners").EnumerateArray())
        {
            Assert.True(listener.At("tls").GetBoolean(), $"{overlay}: listener {listener.At("name")} without TLS");
            Assert.Equal("scram-sha-512", listener.At("authentication", "type").GetString());
        }

        Assert.Equal("simple", kafka.At("authorization", "type").GetString());
        Assert.False(kafka.At("config", "delete.topic.enable").GetBoolean());

        string[] Operations(string user, string topic) =>
        [
            .. rendered.Named("KafkaUser", user).At("spec", "authorization", "acls").EnumerateArray()
                .Where(a => a.At("resource", "type").GetString() == "topic" && a.At("resource", "name").GetString() == topic)
                .SelectMany(a => a.At("operations").EnumerateArray().Select(o => o.GetString()!)).Order(),
        ];
        Assert.Equal(["Describe", "Read"], Operations("marketstream-gateway", "market.ticks"));
        Assert.Equal(["Describe", "Read"], Operations("marketstream-gateway", "market.quotes"));
        Assert.Equal(["Describe", "Read", "Write"], Operations("marketstream-snapshot", "market.quotes"));
        Assert.Equal(["Describe", "Write"], Operations("marketstream-producer", "market.ticks"));
        Assert.Empty(Operations("marketstream-producer", "market.quotes"));

        // The gateway speaks SASL_SSL with its own user, the password from the KafkaUser's Secret, never the ConfigMap.
        var env = rendered.GatewayEnvironment;
        Assert.Equal("SASL_SSL", env["Feed__Kafka__Properties__security.protocol"]);
        Assert.EndsWith(":9093", env["Feed__Kafka__BootstrapServers"], StringComparison.Ordinal);
        Assert.DoesNotContain(env.Keys, k => k.Contains("password", StringComparison.OrdinalIgnoreCase));
        var password = Assert.Single(rendered.GatewayContainer.At("env").EnumerateArray(), e => e.At("name").GetString() == "Feed__Kafka__Properties__sasl.password");
        Assert.Equal("marketstream-gateway", password.At("valueFrom", "secretKeyRef", "name").GetString());
    }

    /// <summary>The documented alternative to the Gateway API: a dedicated ingress-nginx controller, same routing, same limits.</summary>
    [Fact]
    public async Task The_ingress_nginx_alternative_replaces_the_route_objects_and_admits_only_its_controller()
    {
        var rendered = await Manifests.RenderAsync("prod-ingress-nginx").WaitAsync(TimeSpan.FromMinutes(8));
        Assert.StartsWith("ok:", rendered.ValidatorSummary.Trim(), StringComparison.Ordinal);
        Assert.Empty(rendered.OfKind("Gateway"));
        Assert.Empty(rendered.OfKind("HTTPRoute"));
        var ingress = rendered.Single("Ingress");
        var annotations = ingress.At("metadata", "annotations");
        Assert.Equal("off", annotations.At("nginx.ingress.kubernetes.io/proxy-buffering").GetString());
        Assert.True(int.Parse(annotations.At("nginx.ingress.kubernetes.io/limit-connections").GetString()!, System.Globalization.CultureInfo.InvariantCulture) > 0);
        Assert.Equal("marketstream-tls", ingress.At("spec", "tls")[0].At("secretName").GetString());
        var from = rendered.Named("NetworkPolicy", "marketstream-gateway").At("spec", "ingress")[0].At("from")[0];
        Assert.Equal("ingress-nginx", from.At("namespaceSelector", "matchLabels", "kubernetes.io/metadata.name").GetString());
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
    public async Task Production_keeps_three_gateways_evicts_one_at_a_time_and_spreads_them_hard_over_nodes_and_zones()
    {
        var prod = await Manifests.RenderAsync("prod").WaitAsync(TimeSpan.FromMinutes(8));

        Assert.Equal(3, prod.Single("HorizontalPodAutoscaler").At("spec", "minReplicas").GetInt32());
        var pdb = prod.Single("PodDisruptionBudget").At("spec");
        Assert.Equal(1, pdb.At("maxUnavailable").GetInt32());
        Assert.False(pdb.TryGetProperty("minAvailable", out _), "minAvailable 2 would let ten of twelve pods go at once");
        var spreads = prod.GatewayDeployment.At("spec", "template", "spec", "topologySpreadConstraints").EnumerateArray().ToList();
        var node = Assert.Single(spreads, s => s.At("topologyKey").GetString() == "kubernetes.io/hostname");
        Assert.Equal("DoNotSchedule", node.At("whenUnsatisfiable").GetString());
        var zone = Assert.Single(spreads, s => s.At("topologyKey").GetString() == "topology.kubernetes.io/zone");
        Assert.Equal("DoNotSchedule", zone.At("whenUnsatisfiable").GetString());
        Assert.True(zone.At("minDomains").GetInt32() >= 3);
        Assert.Equal(3, prod.Single("KafkaNodePool").At("spec", "replicas").GetInt32());

        // Authentication on, its key from a Secret, never from the ConfigMap; per-client connection limits at the edge.
        Assert.Equal("true", prod.GatewayEnvironment["Feed__Auth__Enabled"]);
        Assert.False(prod.GatewayEnvironment.ContainsKey("Feed__Auth__SigningKey"), "the signing key in the ConfigMap");
        var key = Assert.Single(prod.GatewayContainer.At("env").EnumerateArray(), e => e.At("name").GetString() == "Feed__Auth__SigningKey");
        Assert.Equal("marketstream-auth", key.At("valueFrom", "secretKeyRef", "name").GetString());
        var route = prod.Single("HTTPRoute").At("spec");
        Assert.Equal("0s", route.At("rules")[0].At("timeouts", "request").GetString());
        var https = Assert.Single(prod.Single("Gateway").At("spec", "listeners").EnumerateArray());
        Assert.Equal("HTTPS", https.At("protocol").GetString());

        // Kafka: no two brokers on a node, replicas spread over zones, the tick log bounded in bytes as well as time.
        var brokerSpread = Assert.Single(prod.Single("KafkaNodePool").At("spec", "template", "pod", "affinity", "podAntiAffinity", "requiredDuringSchedulingIgnoredDuringExecution").EnumerateArray());
        Assert.Equal("kubernetes.io/hostname", brokerSpread.At("topologyKey").GetString());
        Assert.Equal("topology.kubernetes.io/zone", prod.Single("Kafka").At("spec", "kafka", "rack", "topologyKey").GetString());
        Assert.True(prod.Named("KafkaTopic", "market.ticks").At("spec", "config", "retention.bytes").GetInt64() > 0);
        Assert.Equal("jmxPrometheusExporter", prod.Single("Kafka").At("spec", "kafka", "metricsConfig", "type").GetString());
        // Images by fully qualified name and digest, never a movable tag.
        foreach (var deployment in prod.OfKind("Deployment"))
        {
            foreach (var container in deployment.At("spec", "template", "spec", "containers").EnumerateArray())
            {
                Assert.Matches(@"^[a-z0-9.-]+\.[a-z]+(:[0-9]+)?/[a-z0-9/._-]+@sha256:[0-9a-f]{64}$", container.At("image").GetString());
            }
        }
    }
}
