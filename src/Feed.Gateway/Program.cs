using MarketStream.Gateway;
using MarketStream.Gateway.Security;

if (DevTokenCommand.IsInvocation(args))
{
    var configuration = new ConfigurationBuilder()
        .SetBasePath(AppContext.BaseDirectory)
        .AddJsonFile("appsettings.json", optional: true)
        .AddEnvironmentVariables()
        .AddCommandLine(args[1..])
        .Build();
    return DevTokenCommand.Run(args, configuration, Console.Out, Console.Error);
}

await GatewayApp.Create(args).RunAsync().ConfigureAwait(false);
return 0;
