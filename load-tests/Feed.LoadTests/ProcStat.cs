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

    /// <summary>Fields 14 and 15 (utime, stime) of /proc/pid/stat; the command name (field 2) may hold spaces, so count from its ')'.</summary>
    internal static double ParseStatCpuSeconds(string stat)
    {
        var rest = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // rest[0] is field 3 (state), so utime (14) is rest[11] and stime (15) rest[12].
        var ticks = long.Parse(rest[11], CultureInfo.InvariantCulture) + long.Parse(rest[12], CultureInfo.InvariantCulture);
        return ticks / ClockTicksPerSecond;
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
