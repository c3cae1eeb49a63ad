using System.Runtime.InteropServices;

namespace MarketStream.LoadTests;

/// <summary>The few Linux calls the harness needs: the open-file limit (inherited by the processes it starts) and signals.</summary>
internal static partial class NativeMethods
{
    public const int SigKill = 9;
    public const int SigTerm = 15;
    private const int RlimitNofile = 7;

    [StructLayout(LayoutKind.Sequential)]
    private struct RLimit
    {
        public ulong Current;
        public ulong Max;
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    public static partial int Kill(int pid, int signal);

    [LibraryImport("libc", EntryPoint = "getrlimit", SetLastError = true)]
    private static partial int GetRLimit(int resource, out RLimit limit);

    [LibraryImport("libc", EntryPoint = "setrlimit", SetLastError = true)]
    private static partial int SetRLimit(int resource, in RLimit limit);

    /// <summary>
    /// Raises this process's open-file limit to at least <paramref name="wanted"/> (the hard limit too, when
    /// permitted: root, or CAP_SYS_RESOURCE), and returns the soft limit in force afterwards. Children started
    /// later inherit it, so the gateway can hold as many sockets as the harness opens.
    /// </summary>
    public static ulong RaiseOpenFileLimit(ulong wanted)
    {
        if (!OperatingSystem.IsLinux() || GetRLimit(RlimitNofile, out var limit) != 0)
        {
            return 0;
        }

        if (limit.Current >= wanted)
        {
            return limit.Current;
        }

        var raised = new RLimit { Current = wanted, Max = Math.Max(wanted, limit.Max) };
        if (SetRLimit(RlimitNofile, raised) != 0)
        {
            // Not privileged: go as far as the hard limit allows.
            var soft = new RLimit { Current = limit.Max, Max = limit.Max };
            _ = SetRLimit(RlimitNofile, soft);
        }

        return GetRLimit(RlimitNofile, out limit) == 0 ? limit.Current : 0;
    }
}
