# shellcheck shell=bash
# ssoenv shell integration for bash (>= 4.2; 5.x recommended), printed by
# `ssoenv init bash`. Load it from ~/.bashrc with
#
#     eval "$(ssoenv init bash)"
#
# Settings, read when this is loaded (set them before that line):
#   SSOENV_PICK_KEY      key for the picker: readline syntax (\C-a, \ea) or
#                        ctrl-X / alt-X. Default Ctrl-A; empty: no binding.
#   SSOENV_WRAP          commands re-run once after a login when they fail on an
#                        expired SSO token. Default "aws".
#   SSOENV_WRAP_SERVER   of those, the ones run under `ssoenv exec --server` while
#                        the shell is switched (credentials that renew). Default none.
#   SSOENV_PROMPT        0: leave PS1 alone (place $SSOENV_PROMPT_SEGMENT yourself).
# and when used:
#   SSOENV_AUTO_LOGIN    0: never renew or log in on behalf of a wrapped command.
#   SSOENV_PROMPT_COLOR  0: no colour in the prompt segment.
#
# Public: the `ssoenv` function (`ssoenv use`/`pick` switch this shell; the rest
# runs the program), ssoenv_prompt (prints the segment) and SSOENV_PROMPT_SEGMENT
# (set before each prompt). Unless SSOENV_PROMPT=0 the segment is put in front of
# PS1, like a virtualenv's `activate`, unless PS1 already shows it.
# Everything else is private (__ssoenv_*).

# The ssoenv executable, filled in by `ssoenv init`.
__ssoenv_bin=(__SSOENV_BIN__)
# What tools print when the SSO token has expired, filled in by `ssoenv init`.
__ssoenv_token_errors=(__SSOENV_TOKEN_ERRORS__)
# ... and when exported credentials have expired (credentials mode only).
__ssoenv_credential_errors=(__SSOENV_CREDENTIAL_ERRORS__)

__ssoenv_t=0
__ssoenv_retry_at=0
__ssoenv_warned=
__ssoenv_prompt_auto=1
__ssoenv_ps1_seen=
# What the segment was last rendered from (__ssoenv_key) and until when it holds
# (__ssoenv_until: its next change or the next renewal check); see __ssoenv_hook.
__ssoenv_key=
__ssoenv_until=0
__ssoenv_k=
__ssoenv_ret=0
[[ ${SSOENV_PROMPT-1} != 0 ]] || __ssoenv_prompt_auto=

# --- the time, without a process ------------------------------------------------

__ssoenv_now() {
    if [[ -n ${EPOCHSECONDS-} ]]; then
        __ssoenv_t=$EPOCHSECONDS
    elif ! \builtin printf -v __ssoenv_t '%(%s)T' -1 2>/dev/null; then
        __ssoenv_t=$(\command date +%s)  # bash < 4.2 only
    fi
}

# --- the prompt segment: no process, no file ------------------------------------

__ssoenv_render() {
    # Also sets __ssoenv_until; a render outside the hook makes the next hook look again.
    SSOENV_PROMPT_SEGMENT=
    __ssoenv_key=
    __ssoenv_until=4611686018427387904
    [[ -n ${SSOENV_ACCOUNT_ID-} ]] || \builtin return 0
    # Only while the switch is still in effect.
    case ${SSOENV_MODE-} in
        profile) [[ ${AWS_PROFILE-} == "${SSOENV_PROFILE-}" ]] || \builtin return 0 ;;
        credentials) [[ -n ${AWS_ACCESS_KEY_ID-} ]] || \builtin return 0 ;;
    esac
    # Quoted: after \builtin, `local` takes its arguments as plain words (split, globbed).
    \builtin local text="${SSOENV_ACCOUNT_NAME:-${SSOENV_PROFILE:-$SSOENV_ACCOUNT_ID}}/${SSOENV_ROLE-}"
    \builtin local left='' colour=''
    [[ $text != *[[:cntrl:]]* ]] || text=${text//[[:cntrl:]]/?}
    if [[ -n ${SSOENV_LOGGED_OUT-} ]]; then
        left='logged out' colour=31
    elif [[ -n ${SSOENV_EXPIRES-} && $SSOENV_EXPIRES != *[!0-9]* ]]; then
        __ssoenv_now
        \builtin local -i d="$((SSOENV_EXPIRES - __ssoenv_t))"
        # The text changes when the minute left does (each second in the last minute),
        # and the hook checks for a renewal from 5 min (credentials) or 1 min ahead.
        \builtin local -i check="$((SSOENV_EXPIRES - 60))"
        [[ ${SSOENV_MODE-} != credentials ]] || check=$((SSOENV_EXPIRES - 300))
        ((check >= __ssoenv_retry_at)) || check=$__ssoenv_retry_at
        if ((d <= 0)); then
            left=expired colour=31
        elif ((d < 60)); then
            left=${d}s! colour=33 __ssoenv_until=$((__ssoenv_t + 1))
        else
            __ssoenv_until=$((__ssoenv_t + d % 60 + 1))
            if ((d < 600)); then
                left=$((d / 60))m! colour=33
            elif ((d < 3600)); then
                left=$((d / 60))m
            else
                \builtin printf -v left '%dh%02dm' $((d / 3600)) $((d % 3600 / 60))
            fi
        fi
        ((check >= __ssoenv_until)) || __ssoenv_until=$check
    fi
    if [[ -n $colour && ${SSOENV_PROMPT_COLOR-1} != 0 ]]; then
        # \001 \002 tell readline the escape takes no room (like \[ \] in PS1).
        left=$'\001\e['$colour$'m\002'$left$'\001\e[39m\002'
    fi
    SSOENV_PROMPT_SEGMENT="aws:$text${left:+ $left}"
}

ssoenv_prompt() {
    __ssoenv_render
    \builtin printf '%s' "$SSOENV_PROMPT_SEGMENT"
}

# --- before each prompt: renew near expiry, then the segment --------------------

__ssoenv_renew() {
    # `ssoenv use --renew` in place: one process, never a login, one line on failure.
    \builtin local out status=0
    out=$("${__ssoenv_bin[@]}" use --renew --shell bash 2>/dev/null) || status=$?
    if ((status == 0)); then
        \builtin eval -- "$out"
        __ssoenv_warned=
    elif [[ $__ssoenv_warned != "$SSOENV_EXPIRES" ]]; then
        __ssoenv_warned=$SSOENV_EXPIRES
        \builtin local who="${SSOENV_ACCOUNT_NAME:-$SSOENV_ACCOUNT_ID}/${SSOENV_ROLE-}"
        who=${who//[[:cntrl:]]/?}  # a name from the network must not drive the terminal
        if ((status == 3)); then
            \builtin printf 'ssoenv: cannot renew %s without a login; run: ssoenv login\n' "$who" >&2
        elif ((status != 130)); then
            \builtin printf 'ssoenv: cannot renew %s (exit %s); see: ssoenv use --renew --shell bash\n' \
                "$who" "$status" >&2
        fi
    fi
    \builtin return "$status"
}

__ssoenv_due() {
    # Credentials are renewed 5 min ahead (like the CLI's cache); the SSO token
    # of profile mode 1 min ahead (the tools renew it themselves before that).
    [[ -n ${SSOENV_ACCOUNT_ID-} && -n ${SSOENV_EXPIRES-} && $SSOENV_EXPIRES != *[!0-9]* ]] || \builtin return 1
    \builtin local -i ahead=60
    [[ ${SSOENV_MODE-} == credentials ]] && ahead=300
    ((__ssoenv_t >= SSOENV_EXPIRES - ahead))
}

__ssoenv_update() {
    if [[ -n ${SSOENV_EXPIRES-} && -n ${SSOENV_ACCOUNT_ID-} && -z ${SSOENV_LOGGED_OUT-} ]]; then
        __ssoenv_now
        if ((__ssoenv_t >= __ssoenv_retry_at)) && __ssoenv_due; then
            __ssoenv_renew
            __ssoenv_now
            # Still due (failed, or nothing newer yet): not again for a minute.
            if __ssoenv_due; then __ssoenv_retry_at=$((__ssoenv_t + 60)); fi
        fi
    fi
    __ssoenv_render
}

__ssoenv_hook() {
    # This runs at every prompt, so its usual path is a few tests: with no account active,
    # one; else one comparison of the inputs (the variables the segment is made of, with
    # \037 between them) with those of the last render, and one of the clock with the
    # time that render holds until. Anything else: render (and maybe renew) again.
    __ssoenv_ret=$?
    if [[ -n ${SSOENV_ACCOUNT_ID-}${SSOENV_PROMPT_SEGMENT-} ]]; then
        __ssoenv_k=${SSOENV_ACCOUNT_ID-}$'\037'${SSOENV_ACCOUNT_NAME-}$'\037'${SSOENV_PROFILE-}$'\037'${SSOENV_ROLE-}$'\037'${SSOENV_MODE-}$'\037'${AWS_PROFILE-}$'\037'${AWS_ACCESS_KEY_ID:+1}$'\037'${SSOENV_LOGGED_OUT-}$'\037'${SSOENV_EXPIRES-}$'\037'${SSOENV_PROMPT_COLOR-}
        # Without $EPOCHSECONDS (bash < 5) the clock test always holds: a render each time.
        if [[ $__ssoenv_k != "$__ssoenv_key" ]] || ((${EPOCHSECONDS:-__ssoenv_until} >= __ssoenv_until)); then
            __ssoenv_update
            # The key is kept only when it tells its inputs apart (no \037 in a value). After a
            # renewal the inputs have changed: the next prompt renders once more.
            __ssoenv_key=${__ssoenv_k//[!$'\037']/}
            [[ ${#__ssoenv_key} == 9 ]] && __ssoenv_key=$__ssoenv_k || __ssoenv_key=
        fi
    fi
    # The segment in front of PS1 (a virtualenv's way), unless PS1 already shows it:
    # checked whenever PS1 changed, so a PS1 set later in ~/.bashrc gets it too.
    # Not in front of a prompt framework that reads ssoenv's variables itself.
    if [[ -n $__ssoenv_prompt_auto && ${PS1-} != "$__ssoenv_ps1_seen" ]]; then
        if [[ -n ${PS1-} && $PS1 != *SSOENV_PROMPT_SEGMENT* && $PS1 != *ssoenv_prompt* && $PS1 != *starship* ]]; then
            PS1='${SSOENV_PROMPT_SEGMENT:+$SSOENV_PROMPT_SEGMENT }'$PS1
        fi
        __ssoenv_ps1_seen=${PS1-}
    fi
    \builtin return "$__ssoenv_ret"
}

if [[ -n ${PROMPT_COMMAND+set} && ${BASH_VERSINFO[0]} -ge 5 && ${PROMPT_COMMAND@a} == *a* ]]; then
    # bash >= 5.1 array form: first, so every other hook still sees $?.
    __ssoenv_found=
    for __ssoenv_c in "${PROMPT_COMMAND[@]}"; do
        [[ $__ssoenv_c != __ssoenv_hook ]] || __ssoenv_found=1
    done
    [[ -n $__ssoenv_found ]] || PROMPT_COMMAND=(__ssoenv_hook "${PROMPT_COMMAND[@]}")
    \builtin unset __ssoenv_c __ssoenv_found
elif [[ ${PROMPT_COMMAND-} != *__ssoenv_hook* ]]; then
    __ssoenv_pc=${PROMPT_COMMAND-}
    __ssoenv_pc=${__ssoenv_pc#"${__ssoenv_pc%%[![:space:]]*}"}
    # shellcheck disable=SC2178  # the string form, here
    PROMPT_COMMAND=__ssoenv_hook${__ssoenv_pc:+$'\n'${__ssoenv_pc#;}}
    \builtin unset __ssoenv_pc
fi

# --- `ssoenv` itself: use and pick switch this shell; the rest runs as is ---------

ssoenv() {
    \builtin local __ssoenv_a __ssoenv_out __ssoenv_st=0
    case ${1-} in
        use | pick)
            # In a command substitution (`eval "$(ssoenv use X)"`) this shell is a
            # copy that dies at once: print the statements for the caller to eval.
            if (( BASH_SUBSHELL )); then "${__ssoenv_bin[@]}" "$@"; \builtin return; fi
            for __ssoenv_a in "${@:2}"; do
                case $__ssoenv_a in
                    -h | --help) "${__ssoenv_bin[@]}" "$@"; \builtin return ;;
                    --) \builtin break ;;
                esac
            done
            __ssoenv_out=$("${__ssoenv_bin[@]}" "$1" --shell bash "${@:2}") || __ssoenv_st=$?
            ((__ssoenv_st != 0)) || \builtin eval -- "$__ssoenv_out"
            __ssoenv_render
            ;;
        login | logout)
            "${__ssoenv_bin[@]}" "$@" || __ssoenv_st=$?
            if ((__ssoenv_st == 0)) && [[ -n ${SSOENV_ACCOUNT_ID-} ]]; then
                # The prompt must not go on showing time left on a session that ended.
                __ssoenv_out=$("${__ssoenv_bin[@]}" use --session-state --shell bash 2>/dev/null) &&
                    \builtin eval -- "$__ssoenv_out"
                __ssoenv_render
            fi
            ;;
        *) "${__ssoenv_bin[@]}" "$@" || __ssoenv_st=$? ;;
    esac
    \builtin return "$__ssoenv_st"
}

# --- Tab completion: the program answers from its caches (no network) ------------

__ssoenv_complete() {
    # The line up to the cursor (the program splits it the way the shell will) and
    # readline's own word, which COMP_WORDBREAKS (=, :) may have cut shorter.
    # One candidate per line, each already quoted for bash. Read in one go and
    # split in memory: `mapfile < <(...)` reads a pipe one byte per read(2).
    \builtin local __ssoenv_out __ssoenv_glob='' IFS=$'\n'
    __ssoenv_out=$("${__ssoenv_bin[@]}" __complete bash "${COMP_LINE:0:COMP_POINT}" \
        "${COMP_WORDS[COMP_CWORD]-}" 2>/dev/null) || \builtin return 0
    [[ $- == *f* ]] || { __ssoenv_glob=1; \builtin set -f; }  # `local -` needs bash 4.4
    # shellcheck disable=SC2206  # split on newlines only, no globbing: on purpose
    COMPREPLY=($__ssoenv_out)
    [[ -z $__ssoenv_glob ]] || \builtin set +f
}
\builtin complete -o bashdefault -o default -F __ssoenv_complete ssoenv

# --- Ctrl-A: the picker ---------------------------------------------------------
#
# The key runs a macro of three private key sequences: (1) pick, and on success
# eval and set aside the typed line; (2) accept-line of the now empty line after
# a pick (so PROMPT_COMMAND runs and the prompt is drawn again with the new
# segment), or a plain redraw after Esc; (3) put the typed line back.

__ssoenv_pick() {
    \builtin local out status=0
    out=$("${__ssoenv_bin[@]}" pick --shell bash) || status=$?
    if ((status == 0)); then
        \builtin eval -- "$out"
        __ssoenv_line=$READLINE_LINE __ssoenv_point=$READLINE_POINT
        READLINE_LINE='' READLINE_POINT=0
        __ssoenv_step accept-line
    else
        __ssoenv_line='' __ssoenv_point=''
        __ssoenv_step redraw-current-line
    fi
}

__ssoenv_step() {
    \builtin bind -m emacs-standard "\"\\C-x\\C-_2\": $1"
    \builtin bind -m vi-insert "\"\\C-x\\C-_2\": $1"
}

__ssoenv_pick_done() {
    if [[ -n ${__ssoenv_point-} ]]; then
        READLINE_LINE=$__ssoenv_line READLINE_POINT=$__ssoenv_point
    fi
    __ssoenv_line='' __ssoenv_point=''
}

if [[ $- == *i* ]]; then
    __ssoenv_key=${SSOENV_PICK_KEY-\\C-a}
    case $__ssoenv_key in
        ctrl-?) __ssoenv_key=\\C-${__ssoenv_key#ctrl-} ;;
        alt-?) __ssoenv_key=\\e${__ssoenv_key#alt-} ;;
    esac
    if [[ -n $__ssoenv_key ]]; then
        for __ssoenv_m in emacs-standard vi-insert; do
            \builtin bind -m "$__ssoenv_m" -x '"\C-x\C-_1": __ssoenv_pick'
            \builtin bind -m "$__ssoenv_m" '"\C-x\C-_2": redraw-current-line'
            \builtin bind -m "$__ssoenv_m" -x '"\C-x\C-_3": __ssoenv_pick_done'
            \builtin bind -m "$__ssoenv_m" "\"$__ssoenv_key\": \"\\C-x\\C-_1\\C-x\\C-_2\\C-x\\C-_3\""
        done
        \builtin unset __ssoenv_m
    fi
    \builtin unset __ssoenv_key
fi

# --- auto re-login for wrapped commands ---------------------------------------

__ssoenv_recover() {
    # `ssoenv recover` renews the token (or logs in) and prints what to eval
    # when the shell's own credentials are stale; status 0 when it worked.
    \builtin local out status=0
    out=$("${__ssoenv_bin[@]}" recover --shell bash "$@") || status=$?
    ((status == 0)) || \builtin return "$status"
    \builtin eval -- "$out"
    __ssoenv_render
}

__ssoenv_command() {
    # A command named in SSOENV_WRAP_SERVER runs under `ssoenv exec --server` while the
    # shell is switched: the credentials it gets renew for as long as it runs.
    if [[ -n ${SSOENV_ACCOUNT_ID-} && ${SSOENV_MODE-} != server && " ${SSOENV_WRAP_SERVER-} " == *" $1 "* ]]; then
        "${__ssoenv_bin[@]}" exec --server -- "$@"
    else
        \command "$@"
    fi
}

__ssoenv_wrap() {
    if [[ ${SSOENV_AUTO_LOGIN-1} == 0 ]]; then
        __ssoenv_command "$@"
        \builtin return
    fi
    __ssoenv_now
    if [[ -n ${SSOENV_ACCOUNT_ID-} && -n ${SSOENV_EXPIRES-} && $SSOENV_EXPIRES != *[!0-9]* ]] &&
        ((__ssoenv_t >= SSOENV_EXPIRES - 60)); then
        # The shell's identity expired while it sat idle: renew it first.
        __ssoenv_recover --preflight -- "$@" || :
    fi
    \builtin local err status=0
    err=$(\command mktemp "${TMPDIR:-/tmp}/ssoenv.XXXXXXXX") || {
        __ssoenv_command "$@"
        \builtin return
    }
    # stdout straight through; stderr through tee, so it is both shown live and kept.
    {
        __ssoenv_command "$@" 2>&1 1>&3 3>&- | \command tee -- "$err" 1>&2 3>&-
        status=${PIPESTATUS[0]}
    } 3>&1
    if ((status != 0 && status != 130)) && {
        \command grep -qF "${__ssoenv_token_errors[@]}" -- "$err" ||
            { [[ ${SSOENV_MODE-} == credentials ]] &&
                \command grep -qF "${__ssoenv_credential_errors[@]}" -- "$err"; }
    }; then
        \command rm -f -- "$err"
        if __ssoenv_recover -- "$@"; then
            __ssoenv_command "$@"  # once, never again
            \builtin return
        fi
        \builtin return "$status"
    fi
    \command rm -f -- "$err"
    \builtin return "$status"
}

\builtin read -r -a __ssoenv_cs <<<"${SSOENV_WRAP-aws}" || :
for __ssoenv_c in "${__ssoenv_cs[@]}"; do
    if [[ $__ssoenv_c == [A-Za-z0-9_]* && $__ssoenv_c != *[!A-Za-z0-9_.+-]* ]] &&
        { [[ " ${__ssoenv_wrapped-} " == *" $__ssoenv_c "* ]] || ! \builtin declare -F -- "$__ssoenv_c" >/dev/null; }; then
        \builtin eval "function $__ssoenv_c { __ssoenv_wrap $__ssoenv_c \"\$@\"; }"
        [[ " ${__ssoenv_wrapped-} " == *" $__ssoenv_c "* ]] || __ssoenv_wrapped="${__ssoenv_wrapped-} $__ssoenv_c"
    fi
done
\builtin unset __ssoenv_c __ssoenv_cs
__ssoenv_render
