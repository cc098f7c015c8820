package io.ringraft.server;

import io.ringraft.engine.Role;
import io.ringraft.runtime.RaftCounters;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code ringraft status [--config FILE]... [--data-dir DIR]...} (default {@code --config ringraft.conf}):
 * one line per local node, read from its counters file from outside the process:
 * <pre>
 * node=1 state=running pid=4242 role=LEADER term=3 leader=1 last=1520 committed=1520 applied=1520 errors=0 lag.2=0 lag.3=1 dir=/data/node-1
 * </pre>
 * {@code errors} counts the errors the node's threads reported (non-zero: see the node's output).
 * {@code lag.N} (on a leader) is how many entries node N's log is behind the leader's last index.
 * A config whose {@code data.dir} holds {@code {id}} shows every member whose directory is on this
 * machine. {@code state} is running, or stopped (the values are then the last ones written).
 */
final class StatusCommand
{
    /** The config file read when none is given. */
    static final String DEFAULT_CONFIG = "ringraft.conf";
    private static final Pattern MATCH = Pattern.compile("ringraft node \\d+ match index of node (\\d+)");

    private StatusCommand()
    {
    }

    static int run(final String[] args)
    {
        final Args a = Args.parse("status", args, Set.of("config", "id", "data-dir"), Set.of());
        a.requirePositional(0, 0, "only flags: [--config FILE]... [--data-dir DIR]...");
        final Map<Path, Long> dirs = new LinkedHashMap<>();
        final List<String> configs = new ArrayList<>(a.all("config"));
        if (configs.isEmpty() && !a.has("data-dir") && Files.isRegularFile(Path.of(DEFAULT_CONFIG)))
        {
            configs.add(DEFAULT_CONFIG);
        }
        for (final String file : configs)
        {
            final Long id = a.has("id") ? a.longValue("id", 0, 1, Long.MAX_VALUE) : null;
            final NodeConfig config = NodeConfig.load(Path.of(file), id);
            if (config.dataDirPerMember())
            {
                config.members().keySet().forEach(m -> dirs.put(config.dataDirOf(m).toAbsolutePath(), m));
            }
            else
            {
                dirs.put(config.dataDir().toAbsolutePath(), config.nodeId());
            }
        }
        for (final String dir : a.all("data-dir"))
        {
            dirs.put(Path.of(dir).toAbsolutePath(), 0L);
        }
        if (dirs.isEmpty())
        {
            throw new CliException("ringraft status: give --config FILE (or --data-dir DIR) of the nodes to show; there is no ./" +
                DEFAULT_CONFIG);
        }
        int shown = 0;
        for (final Map.Entry<Path, Long> e : dirs.entrySet())
        {
            final Path counters = e.getKey().resolve(RingraftNode.COUNTERS_FILE);
            if (!Files.isRegularFile(counters))
            {
                if (e.getValue() != 0 && dirs.size() > 1)
                {
                    continue;
                }
                throw new CliException(CliException.FAILED, "ringraft status: no node has run in " + e.getKey() + " (no counters file)");
            }
            System.out.println(line(e.getKey(), RaftCounters.readFile(counters)));
            shown++;
        }
        if (shown == 0)
        {
            throw new CliException(CliException.FAILED, "ringraft status: no node of " + configs + " has run on this machine");
        }
        return 0;
    }

    /**
     * @param dataDir  the node's data directory
     * @param counters its counters by label
     * @return the status line
     */
    static String line(final Path dataDir, final Map<String, Long> counters)
    {
        long node = 0;
        long term = 0;
        long role = 0;
        long leader = 0;
        long last = 0;
        long committed = 0;
        long applied = 0;
        long errors = 0;
        final List<String> lags = new ArrayList<>();
        final List<long[]> matches = new ArrayList<>();
        for (final Map.Entry<String, Long> c : counters.entrySet())
        {
            final String label = c.getKey();
            final long value = c.getValue();
            final Matcher m = MATCH.matcher(label);
            if (m.matches())
            {
                matches.add(new long[]{Long.parseLong(m.group(1)), value});
                continue;
            }
            if (node == 0 && label.startsWith("ringraft node "))
            {
                node = Long.parseLong(label.substring("ringraft node ".length()).split(" ")[0]);
            }
            if (label.endsWith(" term"))
            {
                term = value;
            }
            else if (label.endsWith(" role"))
            {
                role = value;
            }
            else if (label.endsWith(" leader"))
            {
                leader = value;
            }
            else if (label.endsWith(" last log index"))
            {
                last = value;
            }
            else if (label.endsWith(" committed index"))
            {
                committed = value;
            }
            else if (label.endsWith(" applied index"))
            {
                applied = value;
            }
            else if (label.endsWith(" errors"))
            {
                errors = value;
            }
        }
        final Role r = role >= 0 && role < Role.values().length ? Role.values()[(int)role] : Role.FOLLOWER;
        if (r == Role.LEADER)
        {
            for (final long[] match : matches)
            {
                lags.add("lag." + match[0] + "=" + Math.max(0, last - match[1]));
            }
        }
        final RingraftNode.PidFile pid = RingraftNode.readPidFile(dataDir);
        final String state = pid != null && pid.alive() ? "running pid=" + pid.pid() : "stopped";
        return "node=" + node + " state=" + state + " role=" + r + " term=" + term + " leader=" + leader + " last=" + last +
            " committed=" + committed + " applied=" + applied + " errors=" + errors + (lags.isEmpty() ? "" : " " + String.join(" ", lags)) +
            " dir=" + dataDir;
    }
}
