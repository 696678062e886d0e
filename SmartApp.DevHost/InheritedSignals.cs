using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace SmartApp.DevHost;

/// <summary>
/// A process started with SIGINT ignored (in the background of a script, or by a process supervisor or IDE
/// task without a terminal) keeps ignoring it in .NET: the runtime leaves an inherited SIG_IGN alone, and so
/// do the workers it starts. Ctrl+C sent to the process group would then stop the emulators (Node handles
/// it) and leave the dev host and its worker running. So the dev host runs itself again with SIGINT and
/// SIGQUIT set back to their defaults (coreutils <c>env --default-signal</c>), passes SIGTERM on to that
/// run, and ends with its exit code.
/// </summary>
internal static partial class InheritedSignals
{
    private const string AlreadyReset = "SMARTAPP_DEVHOST_SIGNALS_RESET";
    private const int SigInt = 2, SigTerm = 15;

    /// <summary>Whether SIGINT was ignored when this process started (Linux: <c>SigIgn</c> in /proc/self/status).</summary>
    public static bool InterruptIgnored()
    {
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable(AlreadyReset) is not null) return false;
        var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
        return line is not null && ulong.TryParse(line["SigIgn:".Length..].Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var ignored)
            && (ignored & (1UL << (SigInt - 1))) != 0;
    }

    /// <summary>Runs this program again with the default SIGINT and SIGQUIT, and waits for it; null when that cannot be done.</summary>
    public static int? RunAgainWithDefaultSignals(string[] args)
    {
        var start = new ProcessStartInfo("env");
        start.ArgumentList.Add("--default-signal=INT,QUIT");
        start.ArgumentList.Add($"{AlreadyReset}=1");
        var self = Environment.ProcessPath!;
        start.ArgumentList.Add(self);
        if (Path.GetFileNameWithoutExtension(self) == "dotnet") start.ArgumentList.Add(typeof(InheritedSignals).Assembly.Location);
        foreach (var argument in args) start.ArgumentList.Add(argument);
        Process run;
        try
        {
            run = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null; // no env that can reset signals: carry on as before
        }
        using var forward = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            _ = Kill(run.Id, SigTerm);
        });
        run.WaitForExit();
        return run.ExitCode;
    }

    [LibraryImport("libc", EntryPoint = "kill")]
    private static partial int Kill(int pid, int signal);
}
