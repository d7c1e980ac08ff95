# ssoenv shell integration for zsh (>= 5.1), printed by `ssoenv init zsh`.
# Load it from ~/.zshrc with
#
#     eval "$(ssoenv init zsh)"
#
# Settings, read when this is loaded (set them before that line):
#   SSOENV_PICK_KEY      key for the picker: bindkey syntax (^A, ^[a) or ctrl-X /
#                        alt-X. Default Ctrl-A; empty: no binding.
#   SSOENV_WRAP          commands re-run once after a login when they fail on an
#                        expired SSO token. Default "aws".
#   SSOENV_WRAP_SERVER   of those, the ones run under `ssoenv exec --server` while
#                        the shell is switched (credentials that renew). Default none.
#   SSOENV_PROMPT        0: leave PROMPT alone (place $SSOENV_PROMPT_SEGMENT yourself).
# and when used:
#   SSOENV_AUTO_LOGIN    0: never renew or log in on behalf of a wrapped command.
#   SSOENV_PROMPT_COLOR  0: no colour in the prompt segment.
#   SSOENV_PROMPT_PSVAR  N (1-9): also put the plain segment in psvar[N], for %Nv
#                        in a prompt without `setopt prompt_subst`.
#
# Public: the `ssoenv` function (`ssoenv use`/`pick` switch this shell; the rest
# runs the program), ssoenv_prompt (prints the segment) and SSOENV_PROMPT_SEGMENT
# (set before each prompt; escaped for prompt expansion). Unless SSOENV_PROMPT=0
# (or SSOENV_PROMPT_PSVAR is set) the segment is put in front of PROMPT, like a
# virtualenv's `activate`, unless PROMPT already shows it.
# Everything else is private (__ssoenv_*).

# The ssoenv executable, filled in by `ssoenv init`.
typeset -ga __ssoenv_bin
__ssoenv_bin=(__SSOENV_BIN__)
# What tools print when the SSO token has expired, filled in by `ssoenv init`.
typeset -ga __ssoenv_token_errors
__ssoenv_token_errors=(__SSOENV_TOKEN_ERRORS__)
# ... and when exported credentials have expired (credentials mode only).
typeset -ga __ssoenv_credential_errors
__ssoenv_credential_errors=(__SSOENV_CREDENTIAL_ERRORS__)

typeset -gi __ssoenv_t=0 __ssoenv_retry_at=0
typeset -g __ssoenv_warned='' SSOENV_PROMPT_SEGMENT='' __ssoenv_prefix='' __ssoenv_placed='' __ssoenv_prompt_auto=1
typeset -g __ssoenv_subst=''
# What the segment was last rendered from (__ssoenv_key) and until when it holds
# (__ssoenv_until: its next change or the next renewal check); what PROMPT was placed
# for (__ssoenv_placed_for). See __ssoenv_precmd.
typeset -g __ssoenv_key='' __ssoenv_k='' __ssoenv_placed_for=''
typeset -gi __ssoenv_until=0 __ssoenv_ret=0
[[ ! -o prompt_subst ]] || __ssoenv_subst=1
[[ ${SSOENV_PROMPT-1} != 0 && -z ${SSOENV_PROMPT_PSVAR-} ]] || __ssoenv_prompt_auto=''
typeset -ga __ssoenv_wrapped
\builtin zmodload -F zsh/datetime p:EPOCHSECONDS 2>/dev/null || :

# --- the time, without a process ------------------------------------------------

__ssoenv_now() {
    if (( ${+EPOCHSECONDS} )); then
        __ssoenv_t=$EPOCHSECONDS
    else
        __ssoenv_t=$(\command date +%s)  # only without the zsh/datetime module
    fi
}

# --- before each prompt: renew near expiry, then the segment; no process, no file

__ssoenv_precmd() {
    # This runs at every prompt, so its usual path is a few tests, safe under any of the
    # user's options: with no account active, one; else one comparison of the inputs (the
    # variables the segment is made of, with \037 between them) with those of the last
    # render, and one of the clock with the time that render holds until. Anything else:
    # render (and maybe renew) again, under `emulate -L zsh`.
    __ssoenv_ret=$?
    if [[ -n ${SSOENV_ACCOUNT_ID-}${SSOENV_PROMPT_SEGMENT-} ]]; then
        __ssoenv_k=${SSOENV_ACCOUNT_ID-}$'\037'${SSOENV_ACCOUNT_NAME-}$'\037'${SSOENV_PROFILE-}$'\037'${SSOENV_ROLE-}$'\037'${SSOENV_MODE-}$'\037'${AWS_PROFILE-}$'\037'${AWS_ACCESS_KEY_ID:+1}$'\037'${SSOENV_LOGGED_OUT-}$'\037'${SSOENV_EXPIRES-}$'\037'${SSOENV_PROMPT_COLOR-}$'\037'${SSOENV_PROMPT_PSVAR-}
        # Without $EPOCHSECONDS (no zsh/datetime) the clock test always holds: a render each time.
        if [[ $__ssoenv_k != "$__ssoenv_key" ]] || (( ${EPOCHSECONDS:-__ssoenv_until} >= __ssoenv_until )); then
            __ssoenv_update
            # The key is kept only when it tells its inputs apart (no \037 in a value). After a
            # renewal the inputs have changed: the next prompt renders once more.
            __ssoenv_key=${__ssoenv_k//[^$'\037']/}
            if (( ${#__ssoenv_key} == 10 )); then __ssoenv_key=$__ssoenv_k; else __ssoenv_key=''; fi
        fi
    fi
    if [[ -n $__ssoenv_prompt_auto ]]; then
        # The user's prompt_subst, read here because widgets run under `emulate`.
        if [[ -o prompt_subst ]]; then __ssoenv_subst=1; else __ssoenv_subst=''; fi
        # Placed already, for this segment (without prompt_subst PROMPT holds its text).
        [[ $PROMPT == "$__ssoenv_placed" && $__ssoenv_placed_for == "${__ssoenv_subst:-0$SSOENV_PROMPT_SEGMENT}" ]] ||
            __ssoenv_place
    fi
    return __ssoenv_ret
}

__ssoenv_update() {
    \builtin emulate -L zsh
    if [[ -n ${SSOENV_EXPIRES-} && -n ${SSOENV_ACCOUNT_ID-} && -z ${SSOENV_LOGGED_OUT-} ]]; then
        __ssoenv_now
        if (( __ssoenv_t >= __ssoenv_retry_at )) && __ssoenv_due; then
            __ssoenv_renew
            __ssoenv_now
            # Still due (failed, or nothing newer yet): not again for a minute.
            if __ssoenv_due; then __ssoenv_retry_at=$(( __ssoenv_t + 60 )); fi
        fi
    fi
    __ssoenv_segment
}

__ssoenv_segment() {
    # SSOENV_PROMPT_SEGMENT (and psvar) now; also sets __ssoenv_until. A render outside
    # the hook makes the next hook look again.
    SSOENV_PROMPT_SEGMENT=''
    [[ ${SSOENV_PROMPT_PSVAR-} != [1-9] ]] || psvar[SSOENV_PROMPT_PSVAR]=''
    __ssoenv_key=''
    __ssoenv_until=4611686018427387904
    [[ -n ${SSOENV_ACCOUNT_ID-} ]] || return 0
    # Only while the switch is still in effect.
    case ${SSOENV_MODE-} in
        (profile) [[ ${AWS_PROFILE-} == "${SSOENV_PROFILE-}" ]] || return 0 ;;
        (credentials) [[ -n ${AWS_ACCESS_KEY_ID-} ]] || return 0 ;;
    esac
    local text=${SSOENV_ACCOUNT_NAME:-${SSOENV_PROFILE:-$SSOENV_ACCOUNT_ID}}/${SSOENV_ROLE-}
    local left='' colour=''
    [[ $text != *[[:cntrl:]]* ]] || text=${text//[[:cntrl:]]/?}
    if [[ -n ${SSOENV_LOGGED_OUT-} ]]; then
        left='logged out' colour=red
    elif [[ -n ${SSOENV_EXPIRES-} && $SSOENV_EXPIRES != *[^0-9]* ]]; then
        __ssoenv_now
        local -i d=$(( SSOENV_EXPIRES - __ssoenv_t ))
        # The text changes when the minute left does (each second in the last minute),
        # and the hook checks for a renewal from 5 min (credentials) or 1 min ahead.
        local -i check=$(( SSOENV_EXPIRES - 60 ))
        [[ ${SSOENV_MODE-} != credentials ]] || check=$(( SSOENV_EXPIRES - 300 ))
        (( check >= __ssoenv_retry_at )) || check=__ssoenv_retry_at
        if (( d <= 0 )); then
            left=expired colour=red
        elif (( d < 60 )); then
            left="${d}s!" colour=yellow __ssoenv_until=$(( __ssoenv_t + 1 ))
        else
            __ssoenv_until=$(( __ssoenv_t + d % 60 + 1 ))
            if (( d < 600 )); then
                left="$(( d / 60 ))m!" colour=yellow
            elif (( d < 3600 )); then
                left="$(( d / 60 ))m"
            else
                \builtin printf -v left '%dh%02dm' $(( d / 3600 )) $(( d % 3600 / 60 ))
            fi
        fi
        (( check >= __ssoenv_until )) || __ssoenv_until=check
    fi
    # psvar[N] for %Nv: shown as is, no prompt expansion, no colour
    [[ ${SSOENV_PROMPT_PSVAR-} != [1-9] ]] || psvar[SSOENV_PROMPT_PSVAR]="aws:$text${left:+ $left}"
    [[ $text != *%* ]] || text=${text//\%/%%}  # prompt expansion must show a % as it is
    if [[ -n $colour && ${SSOENV_PROMPT_COLOR-1} != 0 ]]; then
        left="%F{$colour}$left%f"
    fi
    SSOENV_PROMPT_SEGMENT="aws:$text${left:+ $left}"
}

__ssoenv_place() {
    # The segment in front of PROMPT (a virtualenv's way), unless PROMPT already
    # shows it; checked at each prompt, so a PROMPT set later in ~/.zshrc gets it
    # too. What was put there last time is taken out first. With prompt_subst a
    # reference (expanded at each prompt, never re-evaluated); without it, the
    # segment itself, which no expansion touches.
    if [[ -n $__ssoenv_prefix && $PROMPT == "$__ssoenv_prefix"* ]]; then
        PROMPT=${PROMPT#"$__ssoenv_prefix"}
    fi
    __ssoenv_prefix=''
    # Shown already, or a prompt framework that reads ssoenv's variables itself.
    if [[ $PROMPT == *(SSOENV_PROMPT_SEGMENT|ssoenv_prompt|starship|_p9k)* ]]; then
        __ssoenv_placed=$PROMPT __ssoenv_placed_for=${__ssoenv_subst:-0$SSOENV_PROMPT_SEGMENT}
        return 0
    fi
    if [[ -n $__ssoenv_subst ]]; then
        __ssoenv_prefix='${SSOENV_PROMPT_SEGMENT:+$SSOENV_PROMPT_SEGMENT }'
    elif [[ -n $SSOENV_PROMPT_SEGMENT ]]; then
        __ssoenv_prefix="$SSOENV_PROMPT_SEGMENT "
    fi
    PROMPT=$__ssoenv_prefix$PROMPT
    # Without prompt_subst the prefix is the segment's text: placed again when that changes.
    __ssoenv_placed=$PROMPT __ssoenv_placed_for=${__ssoenv_subst:-0$SSOENV_PROMPT_SEGMENT}
}

__ssoenv_render() {
    # The segment now, and in PROMPT; no renewal (the `ssoenv` function, the widget).
    \builtin emulate -L zsh
    __ssoenv_segment
    [[ -z $__ssoenv_prompt_auto ]] || __ssoenv_place
}

# --- `ssoenv` itself: use and pick switch this shell; the rest runs as is ---------

ssoenv() {
    \builtin emulate -L zsh
    local __ssoenv_out
    local -i __ssoenv_st=0
    case ${1-} in
        (use|pick)
            # In a command substitution (`eval "$(ssoenv use X)"`) this shell is a
            # copy that dies at once: print the statements for the caller to eval.
            if (( ZSH_SUBSHELL )); then "${__ssoenv_bin[@]}" "$@"; return; fi
            local __ssoenv_a
            for __ssoenv_a in "${@[2,-1]}"; do
                case $__ssoenv_a in
                    (-h|--help) "${__ssoenv_bin[@]}" "$@"; return ;;
                    (--) break ;;
                esac
            done
            __ssoenv_out=$("${__ssoenv_bin[@]}" "$1" --shell zsh "${@[2,-1]}") || __ssoenv_st=$?
            (( __ssoenv_st != 0 )) || \builtin eval -- "$__ssoenv_out"
            __ssoenv_render
            ;;
        (login|logout)
            __ssoenv_job "$@" || __ssoenv_st=$?
            if (( __ssoenv_st == 0 )) && [[ -n ${SSOENV_ACCOUNT_ID-} ]]; then
                # The prompt must not go on showing time left on a session that ended.
                __ssoenv_out=$("${__ssoenv_bin[@]}" use --session-state --shell zsh 2>/dev/null) &&
                    \builtin eval -- "$__ssoenv_out"
                __ssoenv_render
            fi
            ;;
        (*) __ssoenv_job "$@" || __ssoenv_st=$? ;;
    esac
    return __ssoenv_st
}

__ssoenv_job() {
    # The program, with its own status also when Ctrl-Z and `fg` came in between: zsh
    # then goes on with the rest of a function in a forked shell that saw only the
    # stop (148), and `fg` reports that shell's status. So the program runs in a
    # subshell that waits for it and, once resumed, leaves the real status in a file
    # for that forked shell, which exits with it.
    \builtin emulate -L zsh
    [[ -o monitor ]] || { "${__ssoenv_bin[@]}" "$@"; return }  # no job control: no Ctrl-Z
    local -i __ssoenv_sub=$ZSH_SUBSHELL __ssoenv_st=0
    local __ssoenv_file=${XDG_RUNTIME_DIR:-${TMPDIR:-/tmp}}/ssoenv-status.$$.$RANDOM$RANDOM
    (
        local -i resumed=0 code=0
        TRAPCONT() { resumed=1 }
        TRAPINT() { return 0 }  # the program decides what an interrupt means
        "${__ssoenv_bin[@]}" "$@" || code=$?
        if (( resumed )); then
            \builtin setopt no_clobber  # never through a file or link someone else made
            { \builtin print -r -- $code >$__ssoenv_file } 2>/dev/null
        fi
        exit code
    ) || __ssoenv_st=$?
    if (( ZSH_SUBSHELL > __ssoenv_sub )) && [[ -f $__ssoenv_file && ! -L $__ssoenv_file ]]; then
        __ssoenv_st=$(<$__ssoenv_file)
        \command rm -f -- $__ssoenv_file
        exit __ssoenv_st
    fi
    return __ssoenv_st
}

ssoenv_prompt() {
    \builtin emulate -L zsh
    __ssoenv_segment
    \builtin print -rn -- "$SSOENV_PROMPT_SEGMENT"
}

__ssoenv_renew() {
    # `ssoenv use --renew` in place: one process, never a login, one line on failure.
    \builtin emulate -L zsh
    local out
    local -i st=0
    out=$("${__ssoenv_bin[@]}" use --renew --shell zsh 2>/dev/null) || st=$?
    if (( st == 0 )); then
        \builtin eval -- "$out"
        __ssoenv_warned=''
    elif [[ $__ssoenv_warned != "$SSOENV_EXPIRES" ]]; then
        __ssoenv_warned=$SSOENV_EXPIRES
        local who=${SSOENV_ACCOUNT_NAME:-$SSOENV_ACCOUNT_ID}/${SSOENV_ROLE-}
        who=${who//[[:cntrl:]]/?}  # a name from the network must not drive the terminal
        if (( st == 3 )); then
            \builtin print -ru2 -- "ssoenv: cannot renew $who without a login; run: ssoenv login"
        elif (( st != 130 )); then
            \builtin print -ru2 -- "ssoenv: cannot renew $who (exit $st); see: ssoenv use --renew --shell zsh"
        fi
    fi
    return st
}

__ssoenv_due() {
    # Credentials are renewed 5 min ahead (like the CLI's cache); the SSO token
    # of profile mode 1 min ahead (the tools renew it themselves before that).
    [[ -n ${SSOENV_ACCOUNT_ID-} && -n ${SSOENV_EXPIRES-} && $SSOENV_EXPIRES != *[^0-9]* ]] || return 1
    local -i ahead=60
    [[ ${SSOENV_MODE-} == credentials ]] && ahead=300
    (( __ssoenv_t >= SSOENV_EXPIRES - ahead ))
}

typeset -ga precmd_functions
if (( ! ${precmd_functions[(Ie)__ssoenv_precmd]} )); then
    precmd_functions+=(__ssoenv_precmd)
fi

# --- Tab completion: the program answers from its caches (no network) ------------

__ssoenv_complete() {
    # The words before the cursor, unquoted, and the typed prefix; the program
    # prints every candidate for that place (NUL-separated), and compadd matches
    # them against the prefix and quotes what it inserts.
    local -a __ssoenv_c
    __ssoenv_c=(${(0)"$("${__ssoenv_bin[@]}" __complete zsh "${(@Q)words[2,CURRENT-1]}" "${(Q)PREFIX}" 2>/dev/null)"})
    (( $#__ssoenv_c )) || return 1
    compadd -a __ssoenv_c
}

__ssoenv_compdef() {
    # At the first prompt, when the rest of ~/.zshrc has run (and maybe compinit):
    # register with the completion system, starting it if nobody did.
    local -i __ssoenv_ret=$?
    precmd_functions=(${precmd_functions:#__ssoenv_compdef})
    if (( ! ${+functions[compdef]} )); then
        \builtin autoload -Uz compinit && compinit -i
    fi
    (( ! ${+functions[compdef]} )) || compdef __ssoenv_complete ssoenv
    return __ssoenv_ret
}
if (( ! ${precmd_functions[(Ie)__ssoenv_compdef]} )) && [[ -o interactive ]]; then
    precmd_functions+=(__ssoenv_compdef)
fi

# --- Ctrl-A: the picker ---------------------------------------------------------

__ssoenv_pick() {
    \builtin emulate -L zsh
    local out
    local -i st=0
    out=$("${__ssoenv_bin[@]}" pick --shell zsh </dev/tty) || st=$?
    if (( st == 0 )); then
        \builtin eval -- "$out"
        __ssoenv_render
    fi
    # The typed line ($BUFFER) is left as it was.
    \builtin zle reset-prompt
}

() {
    \builtin emulate -L zsh
    local key=${SSOENV_PICK_KEY-^A}
    case $key in
        (ctrl-?) key="^${(U)key#ctrl-}" ;;
        (alt-?) key="^[${key#alt-}" ;;
    esac
    [[ -n $key ]] || return 0
    \builtin zle -N __ssoenv_pick
    \builtin bindkey -M emacs -- "$key" __ssoenv_pick
    \builtin bindkey -M viins -- "$key" __ssoenv_pick
}

# --- auto re-login for wrapped commands ---------------------------------------

__ssoenv_recover() {
    # `ssoenv recover` renews the token (or logs in) and prints what to eval
    # when the shell's own credentials are stale; status 0 when it worked.
    \builtin emulate -L zsh
    local out
    local -i st=0
    out=$("${__ssoenv_bin[@]}" recover --shell zsh "$@") || st=$?
    (( st == 0 )) || return st
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
    \builtin emulate -L zsh
    \builtin setopt no_multios  # else `1>&3 |` would copy stdout into the pipe too
    if [[ ${SSOENV_AUTO_LOGIN-1} == 0 ]]; then
        __ssoenv_command "$@"
        return
    fi
    __ssoenv_now
    if [[ -n ${SSOENV_ACCOUNT_ID-} && -n ${SSOENV_EXPIRES-} && $SSOENV_EXPIRES != *[^0-9]* ]] &&
        (( __ssoenv_t >= SSOENV_EXPIRES - 60 )); then
        # The shell's identity expired while it sat idle: renew it first.
        __ssoenv_recover --preflight -- "$@" || :
    fi
    local err
    local -i st=0
    err=$(\command mktemp "${TMPDIR:-/tmp}/ssoenv.XXXXXXXX") || {
        __ssoenv_command "$@"
        return
    }
    # stdout straight through; stderr through tee, so it is both shown live and kept.
    {
        __ssoenv_command "$@" 2>&1 1>&3 3>&- | \command tee -- "$err" 1>&2 3>&-
        st=${pipestatus[1]}
    } 3>&1
    if (( st != 0 && st != 130 )) && {
        \command grep -qF "${__ssoenv_token_errors[@]}" -- "$err" ||
            { [[ ${SSOENV_MODE-} == credentials ]] &&
                \command grep -qF "${__ssoenv_credential_errors[@]}" -- "$err" }
    }; then
        \command rm -f -- "$err"
        if __ssoenv_recover -- "$@"; then
            __ssoenv_command "$@"  # once, never again
            return
        fi
        return st
    fi
    \command rm -f -- "$err"
    return st
}

() {
    \builtin emulate -L zsh
    local c
    for c in ${=${SSOENV_WRAP-aws}}; do
        [[ $c == [A-Za-z0-9_]* && $c != *[^A-Za-z0-9_.+-]* ]] || continue
        (( ${+aliases[$c]} )) && continue  # the user's alias runs instead anyway
        if (( ${+functions[$c]} )) && (( ! ${__ssoenv_wrapped[(Ie)$c]} )); then
            continue  # the user's own function: leave it
        fi
        \builtin eval "function $c { __ssoenv_wrap $c \"\$@\" }"
        (( ${__ssoenv_wrapped[(Ie)$c]} )) || __ssoenv_wrapped+=($c)
    done
}
__ssoenv_render
