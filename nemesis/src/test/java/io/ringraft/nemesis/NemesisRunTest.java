package io.ringraft.nemesis;

import io.ringraft.engine.PlantedBug;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The CI version of {@code ringraft nemesis}: three node processes, each in its own network
 * namespace when this build runs as root (else on loopback with kills and slow disks only), under
 * partitions, kills and slow disks (a node's log syncs delayed, each change confirmed by the node)
 * while eight clients write and read; the history must be linearizable, the replicas identical,
 * every heal followed by an acknowledged write. And the same with a planted bug
 * (the leader commits without a quorum), which the checks must catch.
 */
class NemesisRunTest
{
    @TempDir
    Path dir;

    private static NemesisRun.Options options(final Path report, final long durationMs, final long seed, final Set<FaultSchedule.Kind> faults,
        final PlantedBug bug)
    {
        return new NemesisRun.Options(3, durationMs, seed, faults, 8, 8, 5, report, NemesisRun.NetworkMode.AUTO, null, bug,
            "300-600", 3_000, 2_000, 2_000, 5_000);
    }

    @Test
    void shortRunUnderPartitionsAndKillsPassesEveryCheck()
    {
        final NemesisRun.Outcome outcome = new NemesisRun(options(dir.resolve("report"), 40_000, 7,
            EnumSet.of(FaultSchedule.Kind.PARTITION, FaultSchedule.Kind.KILL, FaultSchedule.Kind.SLOW_DISK), PlantedBug.NONE), System.out).run();
        System.out.println(outcome.summary());
        outcome.checks().forEach(c -> System.out.println("  " + c));
        assertTrue(outcome.passed(), outcome.summary() + "\n" + String.join("\n", outcome.checks()) + "\n" + outcome.violation());
        assertTrue(outcome.checks().size() >= 4);
        for (final String file : new String[]{"summary.txt", "faults.txt", "leaders.txt", "history.txt", "report.html", "node-1.log"})
        {
            assertTrue(Files.exists(outcome.reportDir().resolve(file)), file);
        }
        assertFalse(outcome.recoveriesMs().isEmpty(), "faults were injected");
        assertTrue(outcome.checks().stream().anyMatch(c -> c.startsWith("ok    every slow disk")),
            "a slow disk was injected and each node confirmed it: " + String.join("\n", outcome.checks()));
    }

    @Test
    void plantedBugCommitWithoutQuorumIsCaught()
    {
        assumeTrue(NamespaceLab.permitted(), "cutting links needs network namespaces, which need root: " + NamespaceLab.whyNot());
        final NemesisRun.Outcome outcome = new NemesisRun(options(dir.resolve("bug"), 40_000, 5, EnumSet.of(FaultSchedule.Kind.PARTITION),
            PlantedBug.COMMIT_WITHOUT_QUORUM), System.out).run();
        System.out.println(outcome.summary());
        outcome.checks().forEach(c -> System.out.println("  " + c));
        assertFalse(outcome.passed(), "a leader that commits without a quorum loses acknowledged writes under partitions: " +
            outcome.summary());
        assertTrue(outcome.checks().stream().anyMatch(c -> c.startsWith("FAIL") && (c.contains("linearizable") ||
            c.contains("NOT_LINEARIZABLE") || c.contains("replicas differ"))), String.join("\n", outcome.checks()));
        if (outcome.violation() != null)
        {
            assertTrue(outcome.violation().contains("--seed 5"), "names the seed that replays it: " + outcome.violation());
            assertNotNull(outcome.reportDir().resolve("violation.txt"));
        }
    }
}
