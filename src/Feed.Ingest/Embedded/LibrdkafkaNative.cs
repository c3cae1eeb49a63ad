using System.Reflection;
using System.Runtime.InteropServices;

namespace MarketStream.Ingest.Embedded;

/// <summary>
/// P/Invoke declarations for the small part of librdkafka's C API that
/// <see cref="EmbeddedKafkaCluster"/> needs (handle creation and the mock cluster of
/// <c>rdkafka_mock.h</c>), bound to the very native library Confluent.Kafka itself loaded.
/// </summary>
/// <remarks>
/// <para>
/// Why a resolver: librdkafka.redist ships several builds per platform
/// (<c>librdkafka.so</c>, <c>centos8-librdkafka.so</c>, <c>alpine-librdkafka.so</c>) and
/// Confluent.Kafka picks one at run time by trying them in turn (on a machine without
/// <c>libsasl2.so.3</c> the plain build fails to load and the centos8 build is used). If our
/// imports were resolved independently, the process could end up with two copies of
/// librdkafka, which share no state. So <see cref="EnsureLoaded"/> first lets Confluent load
/// its copy (<see cref="Confluent.Kafka.Library.Load()"/>), then opens the same candidate
/// files in the same order Confluent.Kafka 2.16 does; opening an already loaded file returns
/// the already loaded image, so both bindings use one copy.
/// </para>
/// <para>
/// Confluent.Kafka 2.16's order (read from its <c>Impl.Librdkafka.Initialize</c>):
/// on Linux <c>librdkafka</c> then <c>centos8-librdkafka</c> (only <c>alpine-librdkafka</c>
/// when <c>/etc/os-release</c> says <c>ID=alpine</c>); on macOS and Windows only
/// <c>librdkafka</c>. Each name is found by the runtime's ordinary probing, which for a normal
/// build output means <c>runtimes/&lt;rid&gt;/native/</c> below the application directory and
/// for a RID-specific publish the application directory itself. A path handed to
/// <c>Library.Load(path)</c> by someone else is not known to us; that case is not supported.
/// </para>
/// <para>
/// The mock cluster API is marked experimental in <c>rdkafka_mock.h</c> (no ABI guarantee):
/// the signatures below were checked against the header shipped in librdkafka.redist 2.16.0.
/// </para>
/// </remarks>
internal static partial class LibrdkafkaNative
{
    /// <summary>
    /// Logical library name of the imports below. Deliberately not a real file name: it only
    /// ever resolves through our resolver, so a missing resolver fails loudly instead of
    /// silently loading a second copy of librdkafka.
    /// </summary>
    internal const string LibraryName = "marketstream-embedded-librdkafka";

    /// <summary><c>RD_KAFKA_PRODUCER</c> of <c>rd_kafka_type_t</c>.</summary>
    internal const int ProducerType = 0;

    /// <summary><c>RD_KAFKA_CONF_OK</c> of <c>rd_kafka_conf_res_t</c>.</summary>
    internal const int ConfOk = 0;

    /// <summary>Broker id meaning "every broker" for the <c>rd_kafka_mock_broker_*</c> calls.</summary>
    internal const int AllBrokers = -1;

    private static readonly Lock Gate = new();
    private static nint s_handle;
    private static bool s_resolverRegistered;
    private static volatile bool s_loaded;

    /// <summary>
    /// Loads Confluent.Kafka's librdkafka and registers the resolver for our imports, once per
    /// process. Safe to call from any thread, any number of times; a failure is thrown as a
    /// <see cref="DllNotFoundException"/> (or <see cref="InvalidOperationException"/>) and the
    /// next call tries again.
    /// </summary>
    internal static void EnsureLoaded()
    {
        if (s_loaded)
        {
            return;
        }

        lock (Gate)
        {
            if (s_loaded)
            {
                return;
            }

            // Confluent first: whichever copy it settles on is the one we must share.
            Confluent.Kafka.Library.Load();

            s_handle = LoadSameLibraryAsConfluent();
            if (!s_resolverRegistered)
            {
                try
                {
                    NativeLibrary.SetDllImportResolver(typeof(LibrdkafkaNative).Assembly, Resolve);
                }
                catch (InvalidOperationException ex)
                {
                    throw new InvalidOperationException(
                        $"Cannot register the librdkafka import resolver: assembly '{typeof(LibrdkafkaNative).Assembly.GetName().Name}' already has a DllImportResolver.",
                        ex);
                }

                s_resolverRegistered = true;
            }

            // A check that costs nothing: both bindings must report the same version.
            var ours = rd_kafka_version();
            var theirs = Confluent.Kafka.Library.Version;
            if (ours != theirs)
            {
                throw new InvalidOperationException(
                    $"librdkafka version mismatch: Confluent.Kafka uses 0x{theirs:x8} but the embedded cluster bound 0x{ours:x8}.");
            }

            s_loaded = true;
        }
    }

    private static nint Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath) =>
        string.Equals(libraryName, LibraryName, StringComparison.Ordinal) ? s_handle : 0;

    private static nint LoadSameLibraryAsConfluent()
    {
        var confluentAssembly = typeof(Confluent.Kafka.Library).Assembly;
        var tried = new List<string>();
        foreach (var name in CandidateNames())
        {
            foreach (var path in CandidatePaths(name))
            {
                tried.Add(path);
                if (File.Exists(path) && NativeLibrary.TryLoad(path, out var handle))
                {
                    return handle;
                }
            }

            // Anything else Confluent's own [DllImport(name)] could have found (a deps.json
            // entry elsewhere, the system library path): probe exactly as for its assembly.
            tried.Add($"{name} (runtime probing for {confluentAssembly.GetName().Name})");
            if (NativeLibrary.TryLoad(name, confluentAssembly, null, out var probed))
            {
                return probed;
            }
        }

        throw new DllNotFoundException(
            "Could not load the librdkafka that Confluent.Kafka uses. Tried: " + string.Join("; ", tried));
    }

    /// <summary>Library names in Confluent.Kafka 2.16's order for this platform.</summary>
    private static string[] CandidateNames()
    {
        if (OperatingSystem.IsWindows() || OperatingSystem.IsMacOS())
        {
            return ["librdkafka"];
        }

        return IsAlpine() ? ["alpine-librdkafka"] : ["librdkafka", "centos8-librdkafka"];
    }

    /// <summary>Files the runtime's probing would find for <paramref name="name"/>.</summary>
    private static IEnumerable<string> CandidatePaths(string name)
    {
        var file = OperatingSystem.IsWindows() ? name + ".dll"
            : OperatingSystem.IsMacOS() ? name + ".dylib"
            : name + ".so";
        var baseDirectory = AppContext.BaseDirectory;

        // Normal build output: native assets stay under runtimes/<rid>/native.
        yield return Path.Combine(baseDirectory, "runtimes", PortableRid(), "native", file);

        // RID-specific publish: native assets are flattened into the application directory.
        yield return Path.Combine(baseDirectory, file);
    }

    private static string PortableRid()
    {
        var os = OperatingSystem.IsWindows() ? "win" : OperatingSystem.IsMacOS() ? "osx" : "linux";
        var arch = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 => "x64",
            Architecture.X86 => "x86",
            Architecture.Arm64 => "arm64",
            Architecture.Arm => "arm",
            Architecture.S390x => "s390x",
            var other => other.ToString().ToLowerInvariant(),
        };
        return $"{os}-{arch}";
    }

    /// <summary>Confluent.Kafka's test: <c>ID=alpine</c> in <c>/etc/os-release</c>.</summary>
    private static bool IsAlpine()
    {
        const string osRelease = "/etc/os-release";
        if (!File.Exists(osRelease))
        {
            return false;
        }

        foreach (var line in File.ReadLines(osRelease))
        {
            if (line.StartsWith("ID=", StringComparison.Ordinal))
            {
                return string.Equals(line[3..].Trim('"', '\''), "alpine", StringComparison.OrdinalIgnoreCase);
            }
        }

        return false;
    }

    /// <summary>A native producer handle made from <paramref name="settings"/>; destroy it with <see cref="rd_kafka_destroy"/>.</summary>
    internal static unsafe nint NewProducer(IEnumerable<KeyValuePair<string, string>> settings)
    {
        EnsureLoaded();
        const int ErrorBufferSize = 512;
        var conf = rd_kafka_conf_new();
        if (conf == 0)
        {
            throw new InvalidOperationException("rd_kafka_conf_new returned NULL.");
        }

        var errstr = stackalloc byte[ErrorBufferSize];
        try
        {
            foreach (var (name, value) in settings)
            {
                errstr[0] = 0;
                var result = rd_kafka_conf_set(conf, name, value, errstr, ErrorBufferSize);
                if (result != ConfOk)
                {
                    throw new InvalidOperationException($"rd_kafka_conf_set({name}) failed ({result}): {Marshal.PtrToStringUTF8((nint)errstr)}");
                }
            }
        }
        catch
        {
            rd_kafka_conf_destroy(conf);
            throw;
        }

        var handle = rd_kafka_new(ProducerType, conf, errstr, ErrorBufferSize);
        if (handle == 0)
        {
            // rd_kafka_new takes ownership of conf only on success.
            rd_kafka_conf_destroy(conf);
            throw new InvalidOperationException($"rd_kafka_new failed: {Marshal.PtrToStringUTF8((nint)errstr)}");
        }

        return handle;
    }

    // ---- rdkafka.h -------------------------------------------------------------------------

    /// <summary><c>int rd_kafka_thread_cnt(void)</c>: threads librdkafka runs now, over every handle of the process.</summary>
    [LibraryImport(LibraryName)]
    internal static partial int rd_kafka_thread_cnt();

    /// <summary><c>char *rd_kafka_clusterid(rd_kafka_t *rk, int timeout_ms)</c>; free the result with <see cref="rd_kafka_mem_free"/>.</summary>
    [LibraryImport(LibraryName)]
    internal static partial nint rd_kafka_clusterid(nint rk, int timeoutMs);

    /// <summary><c>void rd_kafka_mem_free(rd_kafka_t *rk, void *ptr)</c></summary>
    [LibraryImport(LibraryName)]
    internal static partial void rd_kafka_mem_free(nint rk, nint ptr);

    /// <summary><c>int rd_kafka_version(void)</c></summary>
    [LibraryImport(LibraryName)]
    internal static partial int rd_kafka_version();

    /// <summary><c>const char *rd_kafka_err2name(rd_kafka_resp_err_t err)</c></summary>
    [LibraryImport(LibraryName)]
    internal static partial nint rd_kafka_err2name(int err);

    /// <summary><c>const char *rd_kafka_err2str(rd_kafka_resp_err_t err)</c></summary>
    [LibraryImport(LibraryName)]
    internal static partial nint rd_kafka_err2str(int err);

    /// <summary><c>rd_kafka_conf_t *rd_kafka_conf_new(void)</c></summary>
    [LibraryImport(LibraryName)]
    internal static partial nint rd_kafka_conf_new();

    /// <summary><c>void rd_kafka_conf_destroy(rd_kafka_conf_t *conf)</c></summary>
    [LibraryImport(LibraryName)]
    internal static partial void rd_kafka_conf_destroy(nint conf);

    /// <summary>
    /// <c>rd_kafka_conf_res_t rd_kafka_conf_set(rd_kafka_conf_t *conf, const char *name,
    /// const char *value, char *errstr, size_t errstr_size)</c>
    /// </summary>
    [LibraryImport(LibraryName, StringMarshalling = StringMarshalling.Utf8)]
    internal static unsafe partial int rd_kafka_conf_set(nint conf, string name, string value, byte* errstr, nuint errstrSize);

    /// <summary>
    /// <c>rd_kafka_t *rd_kafka_new(rd_kafka_type_t type, rd_kafka_conf_t *conf, char *errstr,
    /// size_t errstr_size)</c>; takes ownership of <c>conf</c> only on success.
    /// </summary>
    [LibraryImport(LibraryName)]
    internal static unsafe partial nint rd_kafka_new(int type, nint conf, byte* errstr, nuint errstrSize);

    /// <summary><c>void rd_kafka_destroy(rd_kafka_t *rk)</c></summary>
    [LibraryImport(LibraryName)]
    internal static partial void rd_kafka_destroy(nint rk);

    // ---- rdkafka_mock.h --------------------------------------------------------------------

    /// <summary><c>rd_kafka_mock_cluster_t *rd_kafka_mock_cluster_new(rd_kafka_t *rk, int broker_cnt)</c></summary>
    [LibraryImport(LibraryName)]
    internal static partial nint rd_kafka_mock_cluster_new(nint rk, int brokerCount);

    /// <summary><c>void rd_kafka_mock_cluster_destroy(rd_kafka_mock_cluster_t *mcluster)</c></summary>
    [LibraryImport(LibraryName)]
    internal static partial void rd_kafka_mock_cluster_destroy(nint mcluster);

    /// <summary>
    /// <c>const char *rd_kafka_mock_cluster_bootstraps(const rd_kafka_mock_cluster_t *mcluster)</c>;
    /// the string is owned by the cluster.
    /// </summary>
    [LibraryImport(LibraryName)]
    internal static partial nint rd_kafka_mock_cluster_bootstraps(nint mcluster);

    /// <summary>
    /// <c>rd_kafka_resp_err_t rd_kafka_mock_topic_create(rd_kafka_mock_cluster_t *mcluster,
    /// const char *topic, int partition_cnt, int replication_factor)</c>
    /// </summary>
    [LibraryImport(LibraryName, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int rd_kafka_mock_topic_create(nint mcluster, string topic, int partitionCount, int replicationFactor);

    /// <summary><c>rd_kafka_resp_err_t rd_kafka_mock_broker_set_down(rd_kafka_mock_cluster_t *mcluster, int32_t broker_id)</c></summary>
    [LibraryImport(LibraryName)]
    internal static partial int rd_kafka_mock_broker_set_down(nint mcluster, int brokerId);

    /// <summary><c>rd_kafka_resp_err_t rd_kafka_mock_broker_set_up(rd_kafka_mock_cluster_t *mcluster, int32_t broker_id)</c></summary>
    [LibraryImport(LibraryName)]
    internal static partial int rd_kafka_mock_broker_set_up(nint mcluster, int brokerId);

    /// <summary>
    /// <c>rd_kafka_resp_err_t rd_kafka_mock_broker_set_rtt(rd_kafka_mock_cluster_t *mcluster,
    /// int32_t broker_id, int rtt_ms)</c>
    /// </summary>
    [LibraryImport(LibraryName)]
    internal static partial int rd_kafka_mock_broker_set_rtt(nint mcluster, int brokerId, int rttMs);

    /// <summary>
    /// <c>void rd_kafka_mock_push_request_errors_array(rd_kafka_mock_cluster_t *mcluster,
    /// int16_t ApiKey, size_t cnt, const rd_kafka_resp_err_t *errors)</c>
    /// </summary>
    [LibraryImport(LibraryName)]
    internal static unsafe partial void rd_kafka_mock_push_request_errors_array(nint mcluster, short apiKey, nuint count, int* errors);
}
