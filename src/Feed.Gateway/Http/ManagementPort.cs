using System.Globalization;
using MarketStream.Gateway.Streaming;
using Microsoft.Extensions.Options;

namespace MarketStream.Gateway.Http;

/// <summary>
/// <see cref="GatewayOptions.ManagementPort"/>: operators' paths (<c>/metrics</c>, <c>/healthz/*</c>, <c>/dashboard</c>) on a port of their
/// own that no route exposes, so the metrics and the probes are never public; every other path only on the public
/// port(s). Decided by the port the connection arrived on, not by the Host header a client chooses.
/// </summary>
public static class ManagementPort
{
    /// <summary>Adds the management port to the addresses the server listens on, beside the configured ones.</summary>
    public static void Listen(WebApplicationBuilder builder, string defaultUrl)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (!int.TryParse(builder.Configuration[$"{GatewayOptions.Section}:ManagementPort"], NumberStyles.None, CultureInfo.InvariantCulture, out var port)
            || port is < 1 or > 65_535)
        {
            return; // unset, or invalid: the options validation says so at start.
        }

        var endpoints = builder.Configuration.GetSection("Kestrel:Endpoints").GetChildren().ToList();
        if (endpoints.Count > 0)
        {
            // Kestrel's own endpoint configuration overrides URLs and HTTP ports: the management port joins it, on
            // the same interface as the first endpoint.
            var url = endpoints[0]["Url"] ?? defaultUrl;
            builder.Configuration["Kestrel:Endpoints:Management:Url"] = ManagementUrl(url, port);
            return;
        }

        var httpPorts = builder.Configuration["http_ports"];
        var urls = builder.Configuration[WebHostDefaults.ServerUrlsKey];
        if (string.IsNullOrEmpty(urls) && !string.IsNullOrEmpty(httpPorts))
        {
            // HTTP_PORTS binds every interface; so does the management port then.
            builder.WebHost.UseSetting("http_ports", $"{httpPorts};{port.ToString(CultureInfo.InvariantCulture)}");
            return;
        }

        // The same interface as the first URL (loopback stays loopback).
        var configured = string.IsNullOrEmpty(urls) ? defaultUrl : urls;
        var first = configured.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[0];
        builder.WebHost.UseUrls($"{configured};{ManagementUrl(first, port)}");
    }

    /// <summary>Plain HTTP on <paramref name="port"/>, on the interface of <paramref name="url"/>.</summary>
    private static string ManagementUrl(string url, int port)
    {
        var host = url.Replace("://*:", "://0.0.0.0:", StringComparison.Ordinal).Replace("://+:", "://0.0.0.0:", StringComparison.Ordinal);
        return new UriBuilder(host) { Scheme = "http", Port = port, Path = string.Empty }.Uri.GetLeftPart(UriPartial.Authority);
    }

    /// <summary>With a management port, answers 404 to operators' paths elsewhere and to every other path there.</summary>
    public static IApplicationBuilder UseManagementPort(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        if (app.ApplicationServices.GetRequiredService<IOptions<GatewayOptions>>().Value.ManagementPort is not { } port)
        {
            return app;
        }

        return app.Use((context, next) =>
        {
            var operators = context.Request.Path.StartsWithSegments("/metrics")
                || context.Request.Path.StartsWithSegments("/healthz")
                || context.Request.Path.StartsWithSegments("/dashboard");
            if (operators != (context.Connection.LocalPort == port))
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return Task.CompletedTask;
            }

            return next(context);
        });
    }
}
