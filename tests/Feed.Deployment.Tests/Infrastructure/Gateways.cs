using MarketStream.Gateway;
using Microsoft.AspNetCore.Builder;

namespace MarketStream.Deployment.Tests.Infrastructure;

/// <summary>Runs a real gateway in process for the length of a test body, with a timeout on every step.</summary>
internal static class Gateways
{
    public static async Task RunAsync(string[] args, Func<WebApplication, Task> body)
    {
        var app = GatewayApp.Create(args);
        try
        {
            await app.StartAsync().WaitAsync(TimeSpan.FromSeconds(30));
            try
            {
                await body(app).WaitAsync(TimeSpan.FromMinutes(2));
            }
            finally
            {
                await app.StopAsync().WaitAsync(TimeSpan.FromSeconds(60));
            }
        }
        finally
        {
            await app.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        }
    }
}
