package io.ringraft.nemesis;

import io.ringraft.engine.PlantedBug;
import io.ringraft.server.Args;
import io.ringraft.server.CliException;
import io.ringraft.server.RingraftMain;

import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;

/**
 * The main class of the nemesis jar: {@code ringraft nemesis [flags]} runs a fault-injection run;
 * every other command goes to {@link RingraftMain}. Exit status 0 when every check passed, 1 when
 * one failed, 2 on bad usage or setup (one line naming the problem).
 */
public final class NemesisMain
{
    static final String USAGE = String.join(System.lineSeparator(),
        "usage: ringraft nemesis [--nodes 3] [--duration 60s] [--seed N] [--faults kill,pause,partition,loss,delay,membership,election,slow_disk] [--clients 8]",
        "       [--keys 8] [--think 5ms] [--report DIR] [--network auto|netns|loopback] [--cut-with nft|tc]",
        "       [--election-timeout 300-600] [--recovery-bound 2x election timeout] [--timeout 2s] [--fault-length 2-5] [--planted-bug NAME]",
        "  real node processes, each in its own network namespace (as root; else loopback with kills and pauses only),",
        "  under a seeded schedule of kills, pauses, partitions, packet loss, delay, member replacements and slow disks while clients put, read linearizably",
        "  and compare-and-set on a few hot keys; then the history is checked for linearizability, the replicas for",
        "  identical state, and every heal for recovery; the report directory holds the history, the fault timeline",
        "  and report.html (latency and throughput over time, faults and leader changes marked)");

    private static final Set<String> VALUES = Set.of("nodes", "duration", "seed", "faults", "clients", "keys", "think", "report",
        "network", "cut-with", "election-timeout", "recovery-bound", "timeout", "fault-length", "planted-bug");

    private NemesisMain()
    {
    }

    /**
     * @param args {@code nemesis [flags]}, or any other {@code ringraft} command
     */
    public static void main(final String[] args)
    {
        if (args.length == 0 || !args[0].equals("nemesis"))
        {
            RingraftMain.main(args);
            return;
        }
        System.exit(run(java.util.Arrays.copyOfRange(args, 1, args.length)));
    }

    /**
     * Runs {@code ringraft nemesis}.
     *
     * @param args the flags
     * @return the exit status
     */
    static int run(final String[] args)
    {
        try
        {
            if (args.length == 1 && (args[0].equals("--help") || args[0].equals("-h")))
            {
                System.out.println(USAGE);
                return 0;
            }
            final NemesisRun.Options options = parse(args);
            final NemesisRun.Outcome outcome = new NemesisRun(options, System.out).run();
            System.out.println(outcome.summary());
            outcome.checks().forEach(c -> System.out.println("  " + c));
            if (outcome.violation() != null)
            {
                System.out.println(outcome.violation());
            }
            System.out.println("report: " + outcome.reportDir().toAbsolutePath().resolve("report.html"));
            return outcome.passed() ? 0 : CliException.FAILED;
        }
        catch (final CliException ex)
        {
            System.err.println(ex.getMessage());
            return ex.exitStatus();
        }
        catch (final IllegalStateException | java.io.UncheckedIOException ex)
        {
            System.err.println("ringraft nemesis: " + ex.getMessage());
            return CliException.USAGE;
        }
    }

    static NemesisRun.Options parse(final String[] args)
    {
        final Args a = Args.parse("nemesis", args, VALUES, Set.of());
        a.requirePositional(0, 0, USAGE);
        final int nodes = (int)a.longValue("nodes", 3, 3, 9);
        final long durationMs = a.durationMs("duration", 60_000);
        if (durationMs < 15_000)
        {
            throw new CliException(CliException.USAGE, "ringraft nemesis: --duration " + a.get("duration", "") +
                " is too short (at least 15s: warm-up, faults and the quiet end)");
        }
        final long seed = a.longValue("seed", System.nanoTime() & 0xFFFFFF, 0, Long.MAX_VALUE);
        final Set<FaultSchedule.Kind> kinds = EnumSet.noneOf(FaultSchedule.Kind.class);
        for (final String k : a.get("faults", "kill,pause,partition,loss,delay,membership,election,slow_disk").split(","))
        {
            try
            {
                kinds.add(FaultSchedule.Kind.valueOf(k.trim().toUpperCase(Locale.ROOT).replace('-', '_')));
            }
            catch (final IllegalArgumentException ex)
            {
                throw new CliException(CliException.USAGE, "ringraft nemesis: --faults " + k +
                    " is not a fault (kill, pause, partition, loss, delay, membership, election, slow_disk)");
            }
        }
        final NemesisRun.NetworkMode network;
        try
        {
            network = NemesisRun.NetworkMode.valueOf(a.get("network", "auto").toUpperCase(Locale.ROOT));
        }
        catch (final IllegalArgumentException ex)
        {
            throw new CliException(CliException.USAGE, "ringraft nemesis: --network " + a.get("network", "") +
                " must be auto, netns or loopback");
        }
        final String cutWith = a.get("cut-with", "");
        final NamespaceLab.Cutter cutter;
        switch (cutWith)
        {
            case "":
                cutter = null;
                break;
            case "nft":
                cutter = NamespaceLab.Cutter.NFT;
                break;
            case "tc":
                cutter = NamespaceLab.Cutter.TC;
                break;
            default:
                throw new CliException(CliException.USAGE, "ringraft nemesis: --cut-with " + cutWith + " must be nft or tc");
        }
        final PlantedBug bug;
        try
        {
            bug = PlantedBug.valueOf(a.get("planted-bug", "NONE").toUpperCase(Locale.ROOT));
        }
        catch (final IllegalArgumentException ex)
        {
            throw new CliException(CliException.USAGE, "ringraft nemesis: --planted-bug " + a.get("planted-bug", "") +
                " is not one of " + java.util.Arrays.toString(PlantedBug.values()));
        }
        final Path report = Path.of(a.get("report", "nemesis-report-" + seed));
        final String length = a.get("fault-length", "2-5");
        final long minMs;
        final long maxMs;
        try
        {
            final String[] bounds = length.split("-");
            minMs = Math.round(Double.parseDouble(bounds[0].trim()) * 1000);
            maxMs = bounds.length > 1 ? Math.round(Double.parseDouble(bounds[1].trim()) * 1000) : minMs;
            if (bounds.length > 2 || minMs < 500 || maxMs < minMs || maxMs > durationMs / 2)
            {
                throw new NumberFormatException();
            }
        }
        catch (final NumberFormatException ex)
        {
            throw new CliException(CliException.USAGE, "ringraft nemesis: --fault-length " + length +
                " must be MIN-MAX seconds, 0.5 <= MIN <= MAX <= half the duration");
        }
        final String electionTimeout = a.get("election-timeout", "300-600");
        final long twoElectionTimeouts;
        try
        {
            final String[] bounds = electionTimeout.split("-");
            // The node reads a single value as MIN, with MAX = 2 * MIN.
            twoElectionTimeouts = 2 * (bounds.length > 1 ? Long.parseLong(bounds[1].trim()) : 2 * Long.parseLong(bounds[0].trim()));
        }
        catch (final NumberFormatException ex)
        {
            throw new CliException(CliException.USAGE, "ringraft nemesis: --election-timeout " + electionTimeout +
                " must be MS or MIN-MAX milliseconds");
        }
        return new NemesisRun.Options(nodes, durationMs, seed, kinds, (int)a.longValue("clients", 8, 1, 256),
            (int)a.longValue("keys", 8, 1, 1000), a.durationMs("think", 5), report, network, cutter, bug, electionTimeout,
            a.durationMs("recovery-bound", twoElectionTimeouts), a.durationMs("timeout", 2_000), minMs, maxMs);
    }
}
