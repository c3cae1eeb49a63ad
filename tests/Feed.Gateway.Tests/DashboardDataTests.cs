using System.Net;
using System.Text.Json;
using MarketStream.Gateway.Telemetry;
using Microsoft.Extensions.Time.Testing;

namespace MarketStream.Gateway.Tests;

/// <summary><c>/dashboard/data</c>: the instruments /metrics exports, read only while someone watches.</summary>
public sealed class DashboardDataTests
{
    [Fact]
    public async Task The_data_carry_the_gateways_instruments_and_status_and_the_listener_stops_a_minute_after_the_last_read()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var gateway = await GatewayHost.StartWithClockAsync(clock);
        var sampler = gateway.Get<DashboardSampler>();
        Assert.False(sampler.IsListening, "listening before anyone asked");

        await Eventually.Holds(async () =>
        {
            using var data = JsonDocument.Parse(await gateway.Http.GetStringAsync(new Uri("/dashboard/data", UriKind.Relative)));
            var series = data.RootElement.GetProperty("series");
            return series.TryGetProperty("marketstream.ingest.ticks_consumed", out _) && series.TryGetProperty("marketstream.gateway.connections", out _);
        }, "the ingest's and the gateway's instruments in the dashboard data");
        Assert.True(sampler.IsListening);

        using (var data = JsonDocument.Parse(await gateway.Http.GetStringAsync(new Uri("/dashboard/data", UriKind.Relative))))
        {
            var status = data.RootElement.GetProperty("status");
            Assert.Equal("embedded", status.GetProperty("cluster").GetString());
            Assert.False(status.GetProperty("auth").GetBoolean());
            Assert.True(status.GetProperty("workingSetBytes").GetInt64() > 0);
        }

        // Nobody reads for a minute: the listener goes, and measurements cost nothing again.
        clock.Advance(TimeSpan.FromMinutes(2));
        await Eventually.Holds(() => !sampler.IsListening, "the listener stopped");
        using var noRedirects = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = gateway.Address };
        using var page = await noRedirects.GetAsync(new Uri("/dashboard", UriKind.Relative));
        Assert.Equal(HttpStatusCode.Redirect, page.StatusCode);
        Assert.Equal("/dashboard/", page.Headers.Location?.OriginalString);
    }
}
