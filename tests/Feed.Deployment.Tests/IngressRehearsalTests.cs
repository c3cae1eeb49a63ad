using System.Globalization;
using System.Text.RegularExpressions;
using MarketStream.Deployment.Tests.Infrastructure;

namespace MarketStream.Deployment.Tests;

/// <summary>
/// The nginx the load harness's <c>rolling</c> rehearsal runs is the ingress-nginx Ingress of
/// <c>k8s/components/ingress-nginx</c>: every annotation of the Ingress has its directive, marked
/// <c># annotation: name</c>, in <c>load-tests/Feed.LoadTests/Rehearsal/nginx.conf</c>, with the same value, and no
/// marked directive names an annotation the Ingress no longer has. So what was rehearsed is what is deployed.
/// </summary>
public sealed partial class IngressRehearsalTests
{
    private const string Prefix = "nginx.ingress.kubernetes.io/";

    [Fact]
    public async Task Every_Ingress_annotation_is_a_directive_of_the_rehearsal_nginx_with_the_same_value()
    {
        var annotations = await IngressAnnotationsAsync();
        var marked = MarkedDirectives(await File.ReadAllTextAsync(RehearsalConfig));
        Assert.True(annotations.Count >= 8, $"only {annotations.Count} annotations read from the Ingress");

        foreach (var (name, value) in annotations)
        {
            Assert.True(marked.TryGetValue(name, out var directives), $"the Ingress sets {Prefix}{name}: \"{value}\" but the rehearsal's nginx.conf has no directive marked '# annotation: {name}'");
            foreach (var expected in Expected(name, value))
            {
                Assert.True(directives.Any(d => expected.IsMatch(d)), $"{Prefix}{name} is \"{value}\" in the Ingress; nginx.conf has: {string.Join(" | ", directives)} (expected to match {expected})");
            }
        }

        var stale = marked.Keys.Where(k => !annotations.ContainsKey(k)).ToList();
        Assert.True(stale.Count == 0, $"nginx.conf marks directives for annotations the Ingress does not set: {string.Join(", ", stale)}");
    }

    [Fact]
    public void An_annotation_nobody_mapped_fails_the_check_instead_of_passing_silently()
    {
        Assert.Throws<Xunit.Sdk.XunitException>(() => Expected("proxy-body-size", "1m"));
        Assert.Matches(Expected("proxy-read-timeout", "3600")[0], "proxy_read_timeout 3600s;");
        Assert.DoesNotMatch(Expected("proxy-read-timeout", "3600")[0], "proxy_read_timeout 60s;");
        var rps = Expected("limit-rps", "10");
        Assert.Matches(rps[0], "limit_req_zone $binary_remote_addr zone=z:10m rate=10r/s;");
        Assert.Matches(rps[1], "limit_req zone=z burst=50 nodelay;");
        Assert.DoesNotMatch(rps[1], "limit_req zone=z burst=20 nodelay;");
    }

    private static string RehearsalConfig => Repo.PathOf("load-tests", "Feed.LoadTests", "Rehearsal", "nginx.conf");

    /// <summary>The Ingress's nginx annotations (short names), as the prod-ingress-nginx overlay renders them.</summary>
    private static async Task<Dictionary<string, string>> IngressAnnotationsAsync()
    {
        var rendered = await Manifests.RenderAsync("prod-ingress-nginx").WaitAsync(TimeSpan.FromMinutes(8));
        return rendered.Single("Ingress").At("metadata", "annotations").EnumerateObject()
            .Where(a => a.Name.StartsWith(Prefix, StringComparison.Ordinal))
            .ToDictionary(a => a.Name[Prefix.Length..], a => a.Value.GetString()!, StringComparer.Ordinal);
    }

    /// <summary>Directive lines of the config by the annotation their comment names.</summary>
    private static Dictionary<string, List<string>> MarkedDirectives(string config)
    {
        var marked = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (Match m in Marked().Matches(config))
        {
            var name = m.Groups["name"].Value;
            if (!marked.TryGetValue(name, out var list))
            {
                marked[name] = list = [];
            }

            list.Add(m.Groups["directive"].Value.Trim());
        }

        return marked;
    }

    /// <summary>
    /// What nginx directive(s) an annotation becomes, as the ingress-nginx controller writes them. An annotation
    /// not listed here fails: whoever adds one to the Ingress says what it means for the rehearsal.
    /// </summary>
    private static Regex[] Expected(string annotation, string value)
    {
        var v = Regex.Escape(value);
        return annotation switch
        {
            "proxy-read-timeout" or "proxy-send-timeout" => [Directive($"{Underscored(annotation)} {v}s;")],
            "proxy-buffering" or "proxy-request-buffering" or "proxy-http-version" or "proxy-next-upstream" => [Directive($"{Underscored(annotation)} {v};")],
            "limit-connections" => [Directive($@"limit_conn \S+ {v};")],

            // The controller's burst is five times the rate (its limit-burst-multiplier's default).
            "limit-rps" => [Directive($@"limit_req_zone .* rate={v}r/s;"), Directive($@"limit_req zone=\S+ burst={(5 * int.Parse(value, CultureInfo.InvariantCulture)).ToString(CultureInfo.InvariantCulture)} nodelay;")],
            _ => throw new Xunit.Sdk.XunitException($"no mapping of {Prefix}{annotation} to nginx directives: add it here and its directive to the rehearsal's nginx.conf"),
        };
    }

    private static string Underscored(string annotation) => annotation.Replace('-', '_');

    private static Regex Directive(string pattern) => new($"^{pattern}$", RegexOptions.CultureInvariant);

    [GeneratedRegex(@"^\s*(?<directive>[^#\n]+?)\s*#\s*annotation:\s*(?<name>[a-z0-9-]+)\s*$", RegexOptions.Multiline | RegexOptions.CultureInvariant)]
    private static partial Regex Marked();
}
