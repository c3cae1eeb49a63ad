using System.Text;
using System.Text.Json;

namespace MarketStream.Client.Tests;

public class ServerMessageParserTests
{
    [Fact]
    public void Prices_come_out_exactly_as_they_went_in_with_their_scale()
    {
        var message = Parse("""{"type":"updates","quotes":[{"symbol":"AAPL","seq":1850,"bid":189.10,"ask":0.1,"last":189.12000000000001,"ts":1795356633635123,"conflated":3,"dropped":2}]}""");

        var update = Assert.Single(message.Quotes!);
        Assert.Equal(ServerMessageType.Updates, message.Type);
        Assert.Equal("189.10", update.Quote.Bid!.Value.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(0.1m, update.Quote.Ask);
        Assert.Equal(189.12000000000001m, update.Quote.Last);
        Assert.Equal((3, 2), (update.Conflated, update.Dropped));
        Assert.Equal(1850, update.Seq);
    }

    [Fact]
    public void Status_and_the_hello_epoch_are_read()
    {
        var stale = Parse("""{"type":"status","feed":"stale","since":1795356633635123}""");
        Assert.Equal(ServerMessageType.Status, stale.Type);
        Assert.Equal("stale", stale.Feed);
        Assert.Equal(1795356633635123, stale.Since);

        var live = Parse("""{"type":"status","feed":"live"}""");
        Assert.Equal("live", live.Feed);
        Assert.Null(live.Since);

        var hello = Parse("""{"type":"hello","protocol":"marketstream.v1","sessionId":"s","throttleMs":0,"policy":"conflate","heartbeatMs":5000,"serverTime":1,"epoch":"a16d75de89470d82"}""");
        Assert.Equal("a16d75de89470d82", hello.Epoch);
    }

    [Fact]
    public void Unknown_fields_and_any_property_order_are_accepted()
    {
        var message = Parse("""{"extra":{"a":[1,2,{"b":null}]},"symbols":["AAPL"],"id":7,"type":"subscribed","later":"x"}""");

        Assert.Equal(ServerMessageType.Subscribed, message.Type);
        Assert.Equal(7, message.Id);
        Assert.Equal(["AAPL"], message.Symbols);
    }

    [Fact]
    public void An_unknown_message_type_is_read_as_unknown_not_an_error()
    {
        Assert.Equal(ServerMessageType.Unknown, Parse("""{"type":"news","headline":"…"}""").Type);
    }

    [Fact]
    public void An_error_carries_its_id_code_and_symbols()
    {
        var message = Parse("""{"type":"error","id":9,"code":"invalid_symbol","message":"'??' is not a valid symbol","symbols":["??"]}""");

        Assert.Equal((ServerMessageType.Error, 9L, "invalid_symbol"), (message.Type, message.Id!.Value, message.Code!));
        Assert.Equal(["??"], message.Symbols);
    }

    [Theory]
    [InlineData("[1]")]
    [InlineData("""{"type":"snapshot","quotes":[{"symbol":"AAPL","ts":1}]}""")]
    [InlineData("""{"type":"hello","heartbeatMs":"5000"}""")]
    [InlineData("""{"type":""")]
    public void A_malformed_message_throws_JsonException(string json)
    {
        Assert.ThrowsAny<JsonException>(() => Parse(json));
    }

    private static ServerMessage Parse(string json) => ServerMessageParser.Parse(Encoding.UTF8.GetBytes(json));
}
