using System.Text;
using MarketStream.Contracts;

namespace MarketStream.Contracts.Tests;

/// <summary>PROTOCOL.md section 2, client to server: every op, every field fault, and no input that makes it throw.</summary>
public class ClientRequestParserTests
{
    [Fact]
    public void Subscribe_carries_its_id_and_the_symbols_as_written()
    {
        var request = Parse("""{"op":"subscribe","id":7,"symbols":["AAPL","msft","??"]}""");
        Assert.Equal(ClientOp.Subscribe, request.Op);
        Assert.Equal(new RequestId(7, null), request.Id);
        Assert.Equal(["AAPL", "msft", "??"], request.Symbols);
    }

    [Fact]
    public void Unsubscribe_carries_its_id_and_symbols_and_an_empty_list_is_allowed()
    {
        var request = Parse("""{"symbols":["MSFT"],"op":"unsubscribe","id":"u-8"}""");
        Assert.Equal(ClientOp.Unsubscribe, request.Op);
        Assert.Equal(new RequestId(null, "u-8"), request.Id);
        Assert.Equal(["MSFT"], request.Symbols);

        Assert.Empty(Parse("""{"op":"unsubscribe","symbols":[]}""").Symbols);
    }

    [Theory]
    [InlineData("""{"op":"configure","id":9,"throttleMs":1000,"policy":"drop-oldest"}""", 1000, DeliveryPolicy.DropOldest)]
    [InlineData("""{"op":"configure","throttleMs":0}""", 0, null)]
    [InlineData("""{"op":"configure","throttleMs":60000}""", 60000, null)]
    [InlineData("""{"op":"configure","policy":"conflate"}""", null, DeliveryPolicy.Conflate)]
    [InlineData("""{"op":"configure","policy":"drop-newest"}""", null, DeliveryPolicy.DropNewest)]
    [InlineData("""{"op":"configure","policy":"disconnect"}""", null, DeliveryPolicy.Disconnect)]
    [InlineData("""{"op":"configure"}""", null, null)]
    public void Configure_carries_only_the_settings_given(string json, int? throttleMs, DeliveryPolicy? policy)
    {
        var request = Parse(json);
        Assert.Equal(ClientOp.Configure, request.Op);
        Assert.Equal(throttleMs, request.ThrottleMs);
        Assert.Equal(policy, request.Policy);
    }

    [Theory]
    [InlineData("""{"op":"ping","id":10}""", 10L, null)]
    [InlineData("""{"op":"ping","id":-1}""", -1L, null)]
    [InlineData("""{"op":"ping","id":9223372036854775807}""", long.MaxValue, null)]
    [InlineData("""{"op":"ping","id":"ten"}""", null, "ten")]
    [InlineData("""{"op":"ping","id":""}""", null, "")]
    [InlineData("""{"op":"ping"}""", null, null)]
    public void Ping_echoes_an_integer_or_string_id_as_it_came(string json, long? number, string? text)
    {
        var request = Parse(json);
        Assert.Equal(ClientOp.Ping, request.Op);
        Assert.Equal(new RequestId(number, text), request.Id);
        Assert.Equal(number is not null || text is not null, request.Id.IsPresent);
    }

    [Fact]
    public void Unknown_fields_are_ignored_whatever_their_type()
    {
        var request = Parse("""
            {"x":1,"op":"subscribe","nested":{"a":[1,{"b":null}],"c":"op"},"id":3,"symbols":["AAPL"],"flag":true,"n":null,"arr":[[]],"throttleMs2":"x"}
            """);
        Assert.Equal(ClientOp.Subscribe, request.Op);
        Assert.Equal(new RequestId(3, null), request.Id);
        Assert.Equal(["AAPL"], request.Symbols);

        // Fields of other ops are ignored by ping too, when well typed.
        Assert.Equal(ClientOp.Ping, Parse("""{"op":"ping","symbols":["X"],"policy":"conflate"}""").Op);
    }

    [Theory]
    [InlineData("not json", null)]
    [InlineData("", null)]
    [InlineData("   ", null)]
    [InlineData("null", null)]
    [InlineData("42", null)]
    [InlineData("\"ping\"", null)]
    [InlineData("[]", null)]
    [InlineData("""[{"op":"ping"}]""", null)]
    [InlineData("""{"op":"ping"}{"op":"ping"}""", null)]
    [InlineData("""{"op":"ping"} x""", null)]
    [InlineData("""{"op":"ping",}""", null)]
    [InlineData("""{"op":"ping\u0000"}""", null)]
    [InlineData("""{"op":"ping" """, null)]
    [InlineData("""{"id":5}""", 5L)]
    [InlineData("""{"op":null,"id":5}""", 5L)]
    [InlineData("""{"op":1,"id":5}""", 5L)]
    [InlineData("""{"op":["ping"],"id":5}""", 5L)]
    [InlineData("""{"op":"PING","id":5}""", 5L)]
    [InlineData("""{"op":"dance","id":5}""", 5L)]
    [InlineData("""{"op":"subscribe","id":5}""", 5L)]
    [InlineData("""{"op":"unsubscribe","id":5}""", 5L)]
    [InlineData("""{"op":"subscribe","id":5,"symbols":"AAPL"}""", 5L)]
    [InlineData("""{"op":"subscribe","id":5,"symbols":null}""", 5L)]
    [InlineData("""{"op":"subscribe","id":5,"symbols":{"0":"AAPL"}}""", 5L)]
    [InlineData("""{"op":"subscribe","id":5,"symbols":["AAPL",1]}""", 5L)]
    [InlineData("""{"op":"subscribe","id":5,"symbols":["AAPL",null]}""", 5L)]
    [InlineData("""{"op":"subscribe","id":5,"symbols":[["AAPL"]]}""", 5L)]
    [InlineData("""{"op":"configure","id":5,"throttleMs":"100"}""", 5L)]
    [InlineData("""{"op":"configure","id":5,"throttleMs":-1}""", 5L)]
    [InlineData("""{"op":"configure","id":5,"throttleMs":60001}""", 5L)]
    [InlineData("""{"op":"configure","id":5,"throttleMs":2.5}""", 5L)]
    [InlineData("""{"op":"configure","id":5,"throttleMs":1e3}""", 5L)]
    [InlineData("""{"op":"configure","id":5,"throttleMs":99999999999}""", 5L)]
    [InlineData("""{"op":"configure","id":5,"throttleMs":null}""", 5L)]
    [InlineData("""{"op":"configure","id":5,"policy":"fastest"}""", 5L)]
    [InlineData("""{"op":"configure","id":5,"policy":"Conflate"}""", 5L)]
    [InlineData("""{"op":"configure","id":5,"policy":1}""", 5L)]
    [InlineData("""{"op":"configure","id":5,"policy":null}""", 5L)]
    [InlineData("""{"op":"ping","id":{"a":1}}""", null)]
    [InlineData("""{"op":"ping","id":[1]}""", null)]
    [InlineData("""{"op":"ping","id":1.5}""", null)]
    [InlineData("""{"op":"ping","id":true}""", null)]
    [InlineData("""{"op":"ping","id":null}""", null)]
    [InlineData("""{"op":"ping","id":99999999999999999999}""", null)]
    [InlineData("""{"op":"ping","id":"12345678901234567890123456789012345678901234567890123456789012345"}""", null)]
    public void A_malformed_request_is_an_error_that_echoes_the_id_when_it_could_be_read(string json, long? id)
    {
        var request = ClientRequestParser.Parse(Encoding.UTF8.GetBytes(json), out var error);

        Assert.Null(request);
        Assert.NotNull(error);
        Assert.False(string.IsNullOrWhiteSpace(error.Message));
        Assert.Equal(id, error.Id.Number);
        Assert.Null(error.Id.Text);
    }

    [Fact]
    public void A_string_id_is_echoed_in_the_error_of_a_malformed_request()
    {
        Assert.Null(ClientRequestParser.Parse("""{"op":"nope","id":"abc"}"""u8, out var error));
        Assert.Equal(new RequestId(null, "abc"), error!.Id);

        // Up to 64 characters is an id; more is a fault.
        var longest = new string('x', 64);
        Assert.Equal(longest, Parse($$"""{"op":"ping","id":"{{longest}}"}""").Id.Text);
    }

    [Fact]
    public void The_error_message_names_the_faulty_field()
    {
        Assert.Contains("symbols", Error("""{"op":"subscribe","symbols":"AAPL"}"""), StringComparison.Ordinal);
        Assert.Contains("throttleMs", Error("""{"op":"configure","throttleMs":"1"}"""), StringComparison.Ordinal);
        Assert.Contains("policy", Error("""{"op":"configure","policy":"x"}"""), StringComparison.Ordinal);
        Assert.Contains("op", Error("""{"id":1}"""), StringComparison.Ordinal);
        Assert.Contains("id", Error("""{"op":"ping","id":{}}"""), StringComparison.Ordinal);
        Assert.Contains("dance", Error("""{"op":"dance"}"""), StringComparison.Ordinal);
    }

    [Fact]
    public void A_request_naming_too_many_symbols_is_refused()
    {
        var atLimit = string.Join(",", Enumerable.Range(0, ClientRequestParser.MaxSymbolsPerRequest).Select(i => $"\"S{i}\""));
        Assert.Equal(ClientRequestParser.MaxSymbolsPerRequest, Parse($$"""{"op":"subscribe","symbols":[{{atLimit}}]}""").Symbols.Count);

        var overLimit = $$"""{"op":"subscribe","id":1,"symbols":[{{atLimit}},"ONE.MORE"]}""";
        Assert.Null(ClientRequestParser.Parse(Encoding.UTF8.GetBytes(overLimit), out var error));
        Assert.Contains($"{ClientRequestParser.MaxSymbolsPerRequest}", error!.Message, StringComparison.Ordinal);
        Assert.Equal(1, error.Id.Number);
    }

    [Fact]
    public void Nesting_deeper_than_the_limit_is_an_error_not_an_exception()
    {
        var deep = """{"op":"ping","x":""" + new string('[', 200) + new string(']', 200) + "}";
        Assert.Null(ClientRequestParser.Parse(Encoding.UTF8.GetBytes(deep), out var error));
        Assert.NotNull(error);
    }

    [Fact]
    public void Random_and_mutated_input_never_throws_and_always_gives_a_request_or_an_error()
    {
        var random = new Random(20260302);
        byte[][] seeds =
        [
            .. new[]
            {
                """{"op":"subscribe","id":7,"symbols":["AAPL","MSFT"]}""",
                """{"op":"unsubscribe","id":"x","symbols":["MSFT"]}""",
                """{"op":"configure","id":9,"throttleMs":1000,"policy":"drop-oldest"}""",
                """{"op":"ping","id":10,"extra":{"a":[1,2,{"b":"c"}]}}""",
            }.Select(Encoding.UTF8.GetBytes),
        ];
        byte[] alphabet = [.. "{}[]\":,-+.0123456789eEtrufalsn \\/u\"opidsymbolthrottleMs"u8, 0x00, 0xC3, 0xA9, 0xFF, 0xE2, 0x82];

        for (var i = 0; i < 5_000; i++)
        {
            byte[] input;
            if (i % 3 == 0)
            {
                // Pure noise, mostly from JSON's own alphabet so that it gets past the first byte now and then.
                input = new byte[random.Next(0, 64)];
                for (var j = 0; j < input.Length; j++)
                {
                    input[j] = random.Next(4) == 0 ? (byte)random.Next(256) : alphabet[random.Next(alphabet.Length)];
                }
            }
            else
            {
                input = Mutate(seeds[random.Next(seeds.Length)], random, alphabet);
            }

            ClientRequest? request;
            ClientRequestError? error;
            try
            {
                request = ClientRequestParser.Parse(input, out error);
            }
            catch (Exception ex)
            {
                Assert.Fail($"threw {ex.GetType().Name} ({ex.Message}) on input {Convert.ToHexString(input)}");
                return;
            }

            Assert.True((request is null) != (error is null), $"exactly one of request and error, on input {Convert.ToHexString(input)}");
        }
    }

    private static byte[] Mutate(byte[] seed, Random random, byte[] alphabet)
    {
        var bytes = new List<byte>(seed);
        for (var edits = random.Next(1, 4); edits > 0 && bytes.Count > 0; edits--)
        {
            var at = random.Next(bytes.Count);
            switch (random.Next(4))
            {
                case 0:
                    bytes[at] = alphabet[random.Next(alphabet.Length)];
                    break;
                case 1:
                    bytes.RemoveAt(at);
                    break;
                case 2:
                    bytes.Insert(at, (byte)random.Next(256));
                    break;
                default:
                    bytes.RemoveRange(at, bytes.Count - at);
                    break;
            }
        }

        return [.. bytes];
    }

    private static ClientRequest Parse(string json)
    {
        var request = ClientRequestParser.Parse(Encoding.UTF8.GetBytes(json), out var error);
        Assert.True(request is not null, $"'{json}' was refused: {error?.Message}");
        Assert.Null(error);
        return request;
    }

    private static string Error(string json)
    {
        Assert.Null(ClientRequestParser.Parse(Encoding.UTF8.GetBytes(json), out var error));
        return error!.Message;
    }
}
