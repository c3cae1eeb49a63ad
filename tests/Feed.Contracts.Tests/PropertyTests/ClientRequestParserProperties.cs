using System.Text;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace MarketStream.Contracts.Tests.PropertyTests;

/// <summary>
/// Whatever a client sends in a text frame, <see cref="ClientRequestParser.Parse"/> answers with exactly one of
/// a request or a <c>bad_request</c> error carrying a message, and never throws into the session loop.
/// </summary>
public class ClientRequestParserProperties
{
    private const string NotJson = "the frame is not valid JSON";

    [Property(MaxTest = 1000)]
    public Property Arbitrary_bytes_end_in_a_request_or_an_error_never_an_exception() =>
        Prop.ForAll(Arb.From(HostileInput.Bytes(600)), AssertExactlyOneAnswer);

    [Property(MaxTest = 1000)]
    public Property Any_JSON_value_ends_in_a_request_or_an_error_never_an_exception() =>
        Prop.ForAll(Arb.From(HostileInput.Json(5, allowLoneSurrogates: true)), json => AssertExactlyOneAnswer(Encoding.UTF8.GetBytes(json)));

    [Property(MaxTest = 2000)]
    public Property Objects_with_the_real_field_names_and_random_values_end_in_exactly_one_answer() =>
        Prop.ForAll(Arb.From(HostileInput.ObjectWithFields(HostileInput.RequestFields, allowLoneSurrogates: true)), json => AssertExactlyOneAnswer(Encoding.UTF8.GetBytes(json)));

    [Property(MaxTest = 2000)]
    public Property Mutated_valid_requests_end_in_exactly_one_answer() =>
        Prop.ForAll(Arb.From(HostileInput.Mutate(HostileInput.ValidRequest().Select(Encoding.UTF8.GetBytes))), AssertExactlyOneAnswer);

    /// <summary>
    /// Well-formed JSON is never reported as "not valid JSON": the client developer must be told what is
    /// really wrong (docs/protocol.md section 10).
    /// </summary>
    [Property(MaxTest = 2000)]
    public Property Well_formed_JSON_is_never_called_malformed() =>
        Prop.ForAll(Arb.From(Gen.OneOf(HostileInput.Json(4), HostileInput.ObjectWithFields(HostileInput.RequestFields))), json =>
        {
            var request = ClientRequestParser.Parse(Encoding.UTF8.GetBytes(json), out var error);
            Assert.True(request is not null || error!.Message != NotJson, $"'{json}' was called malformed");
        });

    [Property(MaxTest = 1000)]
    public Property Every_valid_request_is_accepted_as_what_it_says() =>
        Prop.ForAll(Arb.From(HostileInput.ValidRequest()), json =>
        {
            var request = ClientRequestParser.Parse(Encoding.UTF8.GetBytes(json), out var error);
            Assert.True(request is not null, $"'{json}' refused: {error?.Message}");
            Assert.Null(error);
            var op = json[(json.IndexOf("\"op\":\"", StringComparison.Ordinal) + 6)..];
            Assert.StartsWith(request.Op.ToString().ToLowerInvariant(), op, StringComparison.Ordinal);
            if (request.Op is ClientOp.Subscribe or ClientOp.Unsubscribe)
            {
                Assert.All(request.Symbols, s => Assert.Contains("\"" + s + "\"", json, StringComparison.Ordinal));
            }
        });

    internal static void AssertExactlyOneAnswer(byte[] frame)
    {
        var request = ClientRequestParser.Parse(frame, out var error);
        Assert.True(request is null != error is null, $"request {request}, error {error} for {Describe(frame)}");
        if (error is not null)
        {
            Assert.False(string.IsNullOrWhiteSpace(error.Message), $"empty error message for {Describe(frame)}");
            Assert.True(error.Id.Text is null || error.Id.Text.Length <= 64, "an echoed id is at most 64 characters");
        }
        else
        {
            Assert.True(Enum.IsDefined(request!.Op));
            Assert.InRange(request.Symbols.Count, 0, ClientRequestParser.MaxSymbolsPerRequest);
            Assert.True(request.ThrottleMs is null or (>= ThrottleLimits.MinMs and <= ThrottleLimits.MaxMs));
            Assert.True(request.Policy is null || Enum.IsDefined(request.Policy.Value));
            Assert.True(request.Id.Text is null || request.Id.Text.Length <= 64, "an accepted id is at most 64 characters");
        }
    }

    internal static string Describe(byte[] bytes) =>
        bytes.Length <= 200 ? Convert.ToHexString(bytes) + " '" + Encoding.UTF8.GetString(bytes) + "'" : $"{bytes.Length} bytes";
}
