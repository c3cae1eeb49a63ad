using System.Globalization;

namespace MarketStream.LoadTests;

/// <summary>
/// A process and its descendants, from /proc. A gateway started as a shell command is a tree (`/bin/sh -c` and
/// the node or java it runs, which may start workers of its own), and what it costs is the tree's, not the
/// shell's. The tree is found again at every call: a command may start its children late, or replace them.
/// </summary>
internal static class ProcessTree
{
    /// <summary>Every process /proc shows now; processes that end while it is read are left out.</summary>
    public static List<StatLine> Snapshot(string proc = "/proc")
    {
        var all = new List<StatLine>();
        foreach (var dir in Directory.EnumerateDirectories(proc))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out _))
            {
                continue;
            }

            try
            {
                all.Add(ProcStat.ParseStat(File.ReadAllText(Path.Combine(dir, "stat"))));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Ended meanwhile.
            }
        }

        return all;
    }

    /// <summary>
    /// <paramref name="root"/> first, then its descendants, parents before children; empty when the root is gone.
    /// Zombies are left out: they have ended, and their CPU is their parent's once it waits for them.
    /// </summary>
    internal static List<StatLine> Members(int root, IReadOnlyCollection<StatLine> table)
    {
        var children = table.Where(p => p.State != 'Z').ToLookup(p => p.ParentPid);
        var members = table.Where(p => p.Pid == root && p.State != 'Z').Take(1).ToList();
        for (var i = 0; i < members.Count; i++)
        {
            members.AddRange(children[members[i].Pid]);
        }

        return members;
    }

    /// <summary>
    /// CPU seconds of a tree: each member's own, plus that of its children that have exited and been waited for
    /// (the kernel adds it to the parent's cutime and cstime), so a short-lived child's CPU is not lost.
    /// </summary>
    internal static double CpuSeconds(IEnumerable<StatLine> members) => members.Sum(m => m.CpuSeconds + m.ReapedChildrenCpuSeconds);

    /// <summary>Whether the process is still the one seen (same pid and start time) and has not ended.</summary>
    public static bool IsRunning(StatLine process, string proc = "/proc")
    {
        try
        {
            var now = ProcStat.ParseStat(File.ReadAllText(Path.Combine(proc, process.Pid.ToString(CultureInfo.InvariantCulture), "stat")));
            return now.StartTicks == process.StartTicks && now.State != 'Z';
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
