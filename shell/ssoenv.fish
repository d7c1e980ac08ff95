# ssoenv shell integration for fish (>= 3.1; fork-free prompt from 3.5),
# printed by `ssoenv init fish`. Load it from ~/.config/fish/config.fish with
#
#     ssoenv init fish | source
#
# Settings, read when this is loaded (set them before that line):
#   SSOENV_PICK_KEY      key for the picker: bind syntax (\ca, \ea) or ctrl-X /
#                        alt-X. Default Ctrl-A; empty: no binding.
#   SSOENV_WRAP          commands re-run once after a login when they fail on an
#                        expired SSO token. Default "aws".
#   SSOENV_WRAP_SERVER   of those, the ones run under `ssoenv exec --server` while
#                        the shell is switched (credentials that renew). Default none.
#   SSOENV_PROMPT        0: leave fish_prompt alone (call ssoenv_prompt yourself).
# and when used:
#   SSOENV_AUTO_LOGIN    0: never renew or log in on behalf of a wrapped command.
#   SSOENV_PROMPT_COLOR  0: no colour in the prompt segment.
#
# Public: the `ssoenv` function (`ssoenv use`/`pick` switch this shell; the rest
# runs the program) and ssoenv_prompt (prints the segment). Unless SSOENV_PROMPT=0,
# your fish_prompt is wrapped at the first prompt (copied to
# __ssoenv_user_fish_prompt; a new fish_prompt prints the segment, then calls it),
# unless it calls ssoenv_prompt already. Everything else is private (__ssoenv_*).

# The ssoenv executable, filled in by `ssoenv init`.
set -g __ssoenv_bin __SSOENV_BIN__
# What tools print when the SSO token has expired, filled in by `ssoenv init`.
set -g __ssoenv_token_errors __SSOENV_TOKEN_ERRORS__
# ... and when exported credentials have expired (credentials mode only).
set -g __ssoenv_credential_errors __SSOENV_CREDENTIAL_ERRORS__

set -q __ssoenv_retry_at; or set -g __ssoenv_retry_at 0
set -q __ssoenv_warned; or set -g __ssoenv_warned ''
set -q __ssoenv_wrapped; or set -g __ssoenv_wrapped

# --- the time, without a process ------------------------------------------------
# fish has no $EPOCHSECONDS. `path mtime` (a builtin since fish 3.5) tells a
# file's mtime and, with --relative, the seconds since then: their sum is now.
# The reference is fish's own data directory (it changes only on upgrades; both
# are read each time, so even then the sum stays right). A command substitution
# is the main cost here, even of a builtin: the code keeps them few.

if contains -- path (builtin -n)
    set -g __ssoenv_clock $__fish_data_dir
    if not path mtime -q -- $__ssoenv_clock
        set __ssoenv_clock /
    end
    function __ssoenv_left --description 'time left until $SSOENV_EXPIRES, into $__ssoenv_d'
        set -l now (path mtime -- $__ssoenv_clock; path mtime --relative -- $__ssoenv_clock)
        __ssoenv_left_from $now[1] $now[2]
    end
else
    function __ssoenv_left --description 'time left until $SSOENV_EXPIRES, into $__ssoenv_d'
        # fish < 3.5: one `date` per prompt, and only while a switch is active.
        __ssoenv_left_from (command date +%s) 0
    end
end

# $__ssoenv_d: the seconds left until $SSOENV_EXPIRES, whole hours, minutes of the hour,
# whole minutes, now (the sum of the two arguments), then the two arguments. Computed
# only when the segment must be rendered again (see __ssoenv_on_prompt); a render right
# after the handler's renewal check reuses it once ($__ssoenv_fresh: the expiry it was
# computed for).
function __ssoenv_left_from
    set -l left "$SSOENV_EXPIRES - $argv[1] - $argv[2]"
    set -g __ssoenv_d (math $left; math -s0 "($left) / 3600"; math -s0 "($left) % 3600 / 60"
        math -s0 "($left) / 60"; math $argv[1] + $argv[2]) $argv[1] $argv[2]
    set -g __ssoenv_fresh $SSOENV_EXPIRES
end

# --- the prompt segment: no process, no file ------------------------------------
# SSOENV_PROMPT_SEGMENT (a global, empty list when there is none) holds the segment with
# its colours, set before each prompt; ssoenv_prompt prints it. The colours are asked of
# set_color once, here.

set -g SSOENV_PROMPT_SEGMENT
set -g __ssoenv_red (set_color red)
set -g __ssoenv_yellow (set_color yellow)
set -g __ssoenv_normal (set_color normal)
set -g __ssoenv_key
set -g __ssoenv_until

function __ssoenv_render --description 'SSOENV_PROMPT_SEGMENT now; also __ssoenv_until'
    set -g SSOENV_PROMPT_SEGMENT
    set -g __ssoenv_key
    set -g __ssoenv_until
    test -n "$SSOENV_ACCOUNT_ID"; or return 0
    # Only while the switch is still in effect.
    switch "$SSOENV_MODE"
        case profile
            test "$AWS_PROFILE" = "$SSOENV_PROFILE"; or return 0
        case credentials
            test -n "$AWS_ACCESS_KEY_ID"; or return 0
    end
    set -l text $SSOENV_ACCOUNT_ID/$SSOENV_ROLE
    if test -n "$SSOENV_ACCOUNT_NAME"
        set text $SSOENV_ACCOUNT_NAME/$SSOENV_ROLE
    else if test -n "$SSOENV_PROFILE"
        set text $SSOENV_PROFILE/$SSOENV_ROLE
    end
    if string match -qr '[[:cntrl:]]' -- "$text"
        set text (string replace -ra '[[:cntrl:]]' '?' -- "$text")
    end
    set -l left
    set -l colour
    if set -q SSOENV_LOGGED_OUT[1]; and test -n "$SSOENV_LOGGED_OUT"
        set left 'logged out'
        set colour $__ssoenv_red
    else if string match -qr '^[0-9]+$' -- "$SSOENV_EXPIRES"
        test "$__ssoenv_fresh" = "$SSOENV_EXPIRES"; or __ssoenv_left
        set -g __ssoenv_fresh # used once: a call outside the prompt computes anew
        set -l d $__ssoenv_d[1]
        if test $d -ge 3600
            set left (printf '%dh%02dm' $__ssoenv_d[2] $__ssoenv_d[3])
        else if test $d -ge 600
            set left $__ssoenv_d[4]m
        else if test $d -le 0
            set left expired
            set colour $__ssoenv_red
        else if test $d -lt 60
            set left $d's!'
            set colour $__ssoenv_yellow
        else
            set left $__ssoenv_d[4]'m!'
            set colour $__ssoenv_yellow
        end
        # The text changes when the minute left does (each second in the last minute), and
        # the handler checks for a renewal from 5 min (credentials) or 1 min ahead: until
        # then the segment stands. Kept as the clock's reference and seconds since it.
        if set -q __ssoenv_d[7]
            set -l ahead 60
            test "$SSOENV_MODE" = credentials; and set ahead 300
            set -l at "max($__ssoenv_d[7] + $d - $ahead, $__ssoenv_retry_at - $__ssoenv_d[6])"
            if test $d -gt 0
                set -l step 1
                test $d -lt 60; or set step "$d % 60 + 1"
                set at "min($__ssoenv_d[7] + $step, $at)"
            end
            set -g __ssoenv_until $__ssoenv_d[6] (math $at)
        end
    end
    test "$SSOENV_PROMPT_COLOR" != 0; or set colour
    set -g SSOENV_PROMPT_SEGMENT "aws:$text"
    if set -q left[1]
        set -l normal
        test -n "$colour"; and set normal $__ssoenv_normal
        set SSOENV_PROMPT_SEGMENT "aws:$text $colour$left$normal"
    end
end

function ssoenv_prompt --description 'print the ssoenv prompt segment: aws:ACCOUNT/ROLE TIME-LEFT'
    # Right after the prompt's handler the segment is fresh: printed as it is, once.
    if set -q __ssoenv_shown[1]
        set -e __ssoenv_shown
    else
        __ssoenv_render
    end
    printf '%s' $SSOENV_PROMPT_SEGMENT
    return 0
end

# --- before each prompt: renew near expiry, then the segment --------------------

function __ssoenv_renew
    # `ssoenv use --renew` in place: one process, never a login, one line on failure.
    set -l out ($__ssoenv_bin use --renew --shell fish 2>/dev/null)
    set -l st $status
    if test $st -eq 0
        printf '%s\n' $out | source
        set -g __ssoenv_warned ''
    else if test "$__ssoenv_warned" != "$SSOENV_EXPIRES"
        set -g __ssoenv_warned $SSOENV_EXPIRES
        set -l who (string replace -ra '[[:cntrl:]]' '?' -- "$SSOENV_ACCOUNT_NAME/$SSOENV_ROLE")
        if test $st -eq 3
            printf 'ssoenv: cannot renew %s without a login; run: ssoenv login\n' "$who" >&2
        else if test $st -ne 130
            printf 'ssoenv: cannot renew %s (exit %s); see: ssoenv use --renew --shell fish\n' "$who" $st >&2
        end
    end
    return $st
end

function __ssoenv_due
    # Credentials are renewed 5 min ahead (like the CLI's cache); the SSO token
    # of profile mode 1 min ahead (the tools renew it themselves before that).
    test -n "$SSOENV_ACCOUNT_ID"; and string match -qr '^[0-9]+$' -- "$SSOENV_EXPIRES"; or return 1
    __ssoenv_left
    set -l ahead 60
    test "$SSOENV_MODE" = credentials; and set ahead 300
    test $__ssoenv_d[1] -le $ahead
end

function __ssoenv_update
    if not set -q SSOENV_LOGGED_OUT[1]; or test -z "$SSOENV_LOGGED_OUT"
        if __ssoenv_due; and test $__ssoenv_d[5] -ge $__ssoenv_retry_at
            set -l now $__ssoenv_d[5]
            __ssoenv_renew
            if __ssoenv_due
                # Still due (failed, or nothing newer yet): not again for a minute.
                set -g __ssoenv_retry_at (math $now + 60)
            end
        end
    end
    __ssoenv_render
end

function __ssoenv_on_prompt --on-event fish_prompt
    # This runs at every prompt (fish keeps $status across event handlers), so its usual
    # path is short: with no account active, one test; else one comparison of the inputs
    # (the variables the segment is made of) with those of the last render, and one read
    # of the clock against the time that render holds until. Else: render, maybe renew.
    set -g __ssoenv_shown 1
    test -n "$SSOENV_ACCOUNT_ID$SSOENV_PROMPT_SEGMENT"; or return 0
    set -l k "$SSOENV_ACCOUNT_ID"\x1f"$SSOENV_ACCOUNT_NAME"\x1f"$SSOENV_PROFILE"\x1f"$SSOENV_ROLE"\x1f"$SSOENV_MODE"\x1f"$AWS_PROFILE"\x1f"$AWS_ACCESS_KEY_ID"\x1f"$SSOENV_LOGGED_OUT"\x1f"$SSOENV_EXPIRES"\x1f"$SSOENV_PROMPT_COLOR"
    if test "$k" = "$__ssoenv_key"
        set -q __ssoenv_until[1]; or return 0
        set -l c (path mtime -- $__ssoenv_clock; path mtime --relative -- $__ssoenv_clock)
        test "$c[1]" = "$__ssoenv_until[1]"; and test "$c[2]" -lt "$__ssoenv_until[2]"; and return 0
    end
    __ssoenv_update
    # Kept only where the clock is a builtin, and when the key tells its inputs apart
    # (no \x1f in a value). After a renewal the inputs have changed: rendered once more.
    set -q __ssoenv_clock[1]; and test (string replace -ra '[^\x1f]' '' -- "$k") = \x1f\x1f\x1f\x1f\x1f\x1f\x1f\x1f\x1f
    and set -g __ssoenv_key $k
end

# --- the segment in your prompt, by default --------------------------------------
# At the first prompt (config.fish has run, fish_prompt is autoloaded by then):
# wrap the user's fish_prompt, unless it shows the segment already.

function __ssoenv_status --description 'return $argv[1] (hands $status on to the wrapped prompt)'
    return $argv[1]
end

if test "$SSOENV_PROMPT" != 0
    function __ssoenv_wrap_prompt --on-event fish_prompt
        functions -e __ssoenv_wrap_prompt # once
        functions -q fish_prompt; or return 0
        set -l body (functions fish_prompt)
        string match -q -r 'ssoenv_prompt|SSOENV_PROMPT_SEGMENT|starship' -- $body; and return 0
        functions -c fish_prompt __ssoenv_user_fish_prompt
        function fish_prompt --description 'ssoenv: the aws: segment, then your prompt'
            set -l st $status # `set` keeps $status
            printf '%s' $SSOENV_PROMPT_SEGMENT' '
            test $st = 0; or __ssoenv_status $st
            __ssoenv_user_fish_prompt
        end
    end
end

# --- `ssoenv` itself: use and pick switch this shell; the rest runs as is ---------

function ssoenv --description 'ssoenv (use and pick switch this shell)'
    switch "$argv[1]"
        case use pick
            # In a command substitution, print the statements for the caller to source.
            if status is-command-substitution
                $__ssoenv_bin $argv
                return $status
            end
            for a in $argv[2..-1]
                switch $a
                    case -h --help
                        $__ssoenv_bin $argv
                        return $status
                    case --
                        break
                end
            end
            set -l out ($__ssoenv_bin $argv[1] --shell fish $argv[2..-1])
            set -l st $status
            if test $st -eq 0
                printf '%s\n' $out | source
            end
            return $st
        case login logout
            $__ssoenv_bin $argv
            set -l st $status
            if test $st -eq 0; and test -n "$SSOENV_ACCOUNT_ID"
                # The prompt must not go on showing time left on a session that ended.
                set -l out ($__ssoenv_bin use --session-state --shell fish 2>/dev/null)
                and printf '%s\n' $out | source
            end
            return $st
        case '*'
            $__ssoenv_bin $argv
            return $status
    end
end

# --- Tab completion: the program answers from its caches (no network) ------------

function __ssoenv_complete --description 'candidates for ssoenv (fish matches and quotes them)'
    set -l words (commandline -opc)
    $__ssoenv_bin __complete fish $words[2..-1] (commandline -ct) 2>/dev/null | string split0
end
complete -c ssoenv -f -a '(__ssoenv_complete)'

# --- Ctrl-A: the picker ---------------------------------------------------------

function __ssoenv_pick
    set -l out ($__ssoenv_bin pick --shell fish </dev/tty)
    if test $status -eq 0
        printf '%s\n' $out | source
        __ssoenv_render # a repaint emits no fish_prompt event
    end
    # The typed command line is left as it was.
    commandline -f repaint
end

set -l __ssoenv_key '\ca'
set -q SSOENV_PICK_KEY; and set __ssoenv_key "$SSOENV_PICK_KEY"
switch $__ssoenv_key
    case 'ctrl-?'
        set __ssoenv_key '\c'(string sub -s 6 -- $__ssoenv_key)
    case 'alt-?'
        set __ssoenv_key '\e'(string sub -s 5 -- $__ssoenv_key)
end
if test -n "$__ssoenv_key"
    # `bind` reads \ca and friends itself; `eval` turns the setting's text into a key.
    eval "bind $__ssoenv_key __ssoenv_pick"
    eval "bind -M insert $__ssoenv_key __ssoenv_pick"
end

# --- auto re-login for wrapped commands ---------------------------------------

function __ssoenv_recover
    # `ssoenv recover` renews the token (or logs in) and prints what to eval
    # when the shell's own credentials are stale; status 0 when it worked.
    set -l out ($__ssoenv_bin recover --shell fish $argv)
    set -l st $status
    test $st -eq 0; or return $st
    printf '%s\n' $out | source
    return 0
end

function __ssoenv_command
    # A command named in SSOENV_WRAP_SERVER runs under `ssoenv exec --server` while the
    # shell is switched: the credentials it gets renew for as long as it runs.
    if test -n "$SSOENV_ACCOUNT_ID"; and test "$SSOENV_MODE" != server
        and contains -- $argv[1] (string split -n ' ' -- "$SSOENV_WRAP_SERVER")
        $__ssoenv_bin exec --server -- $argv
    else
        command $argv
    end
end

function __ssoenv_wrap
    if test "$SSOENV_AUTO_LOGIN" = 0
        __ssoenv_command $argv
        return $status
    end
    if test -n "$SSOENV_ACCOUNT_ID"; and string match -qr '^[0-9]+$' -- "$SSOENV_EXPIRES"
        __ssoenv_left
        if test $__ssoenv_d[1] -le 60
            # The shell's identity expired while it sat idle: renew it first.
            __ssoenv_recover --preflight -- $argv
        end
    end
    set -l tmp /tmp
    set -q TMPDIR[1]; and test -n "$TMPDIR"; and set tmp $TMPDIR
    set -l err (command mktemp $tmp/ssoenv.XXXXXXXX)
    or begin
        __ssoenv_command $argv
        return $status
    end
    # stdout straight through; stderr through tee, so it is both shown live and kept.
    __ssoenv_command $argv 2>| command tee -- $err >&2
    set -l st $pipestatus[1]
    if test $st -ne 0 -a $st -ne 130
        if command grep -qF $__ssoenv_token_errors -- $err
            or begin
                test "$SSOENV_MODE" = credentials
                and command grep -qF $__ssoenv_credential_errors -- $err
            end
            command rm -f -- $err
            if __ssoenv_recover -- $argv
                __ssoenv_command $argv # once, never again
                return $status
            end
            return $st
        end
    end
    command rm -f -- $err
    return $st
end

set -l __ssoenv_cs aws
set -q SSOENV_WRAP; and set __ssoenv_cs (string split -n ' ' -- (string replace -ra '\s+' ' ' -- "$SSOENV_WRAP"))
for __ssoenv_c in $__ssoenv_cs
    string match -qr '^[A-Za-z0-9_][A-Za-z0-9_.+-]*$' -- $__ssoenv_c; or continue
    if functions -q -- $__ssoenv_c; and not contains -- $__ssoenv_c $__ssoenv_wrapped
        continue # the user's own function: leave it
    end
    function $__ssoenv_c --wraps $__ssoenv_c --description "$__ssoenv_c, re-run once after an SSO login (ssoenv)"
        __ssoenv_wrap (status current-function) $argv
    end
    contains -- $__ssoenv_c $__ssoenv_wrapped; or set -g -a __ssoenv_wrapped $__ssoenv_c
end
set -e __ssoenv_c
