using MarketStream.Gateway;

await GatewayApp.Create(args).RunAsync().ConfigureAwait(false);
