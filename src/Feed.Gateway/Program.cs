using MarketStream.Gateway;
using MarketStream.Gateway.Security;
using MarketStream.Ingest;

if (DevTokenCommand.IsInvocation(args))
{
    return DevTokenCommand.Run(args, FileConfiguration([.. args.Skip(1).Where(CommandLineSettings.IsSetting)]), Console.Out, Console.Error);
}

// A configuration error (a value that does not convert or is not allowed) stops the gateway with one line and a
// non-zero exit code, not an unhandled exception's stack trace.
WebApplication? app = null;
try
{
    app = GatewayApp.Create(args);
    await app.StartAsync().ConfigureAwait(false);
}
catch (Exception ex) when (ConfigurationErrors.TryDescribe(ex, app?.Configuration ?? FileConfiguration(args), out var line))
{
    await Console.Error.WriteLineAsync(line).ConfigureAwait(false);
    if (app is not null)
    {
        await app.DisposeAsync().ConfigureAwait(false);
    }

    return ConfigurationErrors.ExitCode;
}

await app.WaitForShutdownAsync().ConfigureAwait(false);
await app.DisposeAsync().ConfigureAwait(false);
return 0;

// The configuration as the gateway reads it (appsettings.json, environment, command line), for the token command
// and for describing an error found before the app exists.
static IConfiguration FileConfiguration(string[] args)
{
    var builder = new ConfigurationBuilder()
        .SetBasePath(AppContext.BaseDirectory)
        .AddJsonFile("appsettings.json", optional: true)
        .AddEnvironmentVariables()
        .AddCommandLine(args);
    return builder.AddListSettings(builder.Build()).Build();
}
