using MarketStream.Contracts;

namespace MarketStream.Client;

/// <summary>A connection's delivery settings as the server confirmed them (<c>configured</c>).</summary>
/// <param name="ThrottleMs">Least time between two <c>updates</c> frames, in ms.</param>
/// <param name="Policy">What the server does when this client receives less than the market produces.</param>
public sealed record SessionSettings(int ThrottleMs, DeliveryPolicy Policy);
