using System.Globalization;

namespace MarketStream.LoadTests;

/// <summary>Resident memory and CPU time of a process, from /proc: what the kernel charges it, not what it says of itself.</summary>
internal static class ProcStat
{
    private const double ClockTicksPerSecond = 100; // USER_HZ, 100 on every Linux the harness targets.

    /// <summary>VmRSS in bytes, or 0 once the process is gone.</summary>
    public static long RssBytes(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    return ParseStatusKb(line) * 1024;
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return 0;
    }

    /// <summary>User + system CPU time in seconds, or 0 once the process is gone.</summary>
    public static double CpuSeconds(int pid)
    {
        try
        {
            return ParseStatCpuSeconds(File.ReadAllText($"/proc/{pid}/stat"));
        }
        catch (IOException)
        {
            return 0;
        }
    }

    internal static long ParseStatusKb(string line)
    {
        var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return long.Parse(parts[1], CultureInfo.InvariantCulture);
    }

    /// <summary>Fields 14 and 15 (utime, stime) of /proc/pid/stat: the process's own CPU time.</summary>
    internal static double ParseStatCpuSeconds(string stat) => ParseStat(stat).CpuSeconds;

    /// <summary>
    /// The fields of one /proc/pid/stat line the harness uses. The command name (field 2) may hold spaces and
    /// parentheses, so fields are counted from its last ')'.
    /// </summary>
    internal static StatLine ParseStat(string stat)
    {
        var rest = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        long Field(int number) => long.Parse(rest[number - 3], CultureInfo.InvariantCulture);
        return new StatLine(
            int.Parse(stat.AsSpan(0, stat.IndexOf(' ', StringComparison.Ordinal)), CultureInfo.InvariantCulture),
            (int)Field(4),
            rest[0][0],
            (Field(14) + Field(15)) / ClockTicksPerSecond,
            (Field(16) + Field(17)) / ClockTicksPerSecond,
            Field(22));
    }

    /// <summary>CPU seconds of each thread of a process, by thread id, with the thread's name: a profile in miniature.</summary>
    public static Dictionary<int, (string Name, double CpuSeconds)> Threads(int pid)
    {
        var result = new Dictionary<int, (string, double)>();
        try
        {
            foreach (var dir in Directory.EnumerateDirectories($"/proc/{pid}/task"))
            {
                try
                {
                    var tid = int.Parse(Path.GetFileName(dir), CultureInfo.InvariantCulture);
                    var name = File.ReadAllText(Path.Combine(dir, "comm")).Trim();
                    result[tid] = (name, ParseStatCpuSeconds(File.ReadAllText(Path.Combine(dir, "stat"))));
                }
                catch (IOException)
                {
                    // The thread ended meanwhile.
                }
            }
        }
        catch (IOException)
        {
        }

        return result;
    }

    /// <summary>The busiest threads between two <see cref="Threads"/> snapshots, as "name tid: NN %" of one core.</summary>
    public static string TopThreads(Dictionary<int, (string Name, double CpuSeconds)> before, Dictionary<int, (string Name, double CpuSeconds)> after, double seconds, int count = 6) =>
        string.Join(", ", after
            .Select(t => (t.Key, t.Value.Name, Cpu: t.Value.CpuSeconds - (before.TryGetValue(t.Key, out var b) ? b.CpuSeconds : 0)))
            .OrderByDescending(t => t.Cpu)
            .Take(count)
            .Select(t => string.Create(CultureInfo.InvariantCulture, $"'{t.Name}' {t.Key}: {100 * t.Cpu / seconds:0} %")));
}

/// <summary>
/// One process as /proc/pid/stat shows it. <see cref="ReapedChildrenCpuSeconds"/> (cutime + cstime) is the CPU of
/// its children that have exited and been waited for; <see cref="StartTicks"/> tells a pid apart from a later
/// process given the same pid.
/// </summary>
internal readonly record struct StatLine(int Pid, int ParentPid, char State, double CpuSeconds, double ReapedChildrenCpuSeconds, long StartTicks);
