# Bash completion for Islet's xe.
#
#   source bin/xe-completion.bash          # this shell only
#   cp bin/xe-completion.bash /etc/bash_completion.d/xe   # every shell
#
# Completes, as XenServer's xe completion does:
#   xe <TAB>                      command names                (xe help --all --minimal)
#   xe vm-start <TAB>             that command's parameters    (xe help vm-start), with '='
#   xe vm-start vm=<TAB>          names of the VMs / hosts / SRs from the live pool
#   xe vdi-destroy uuid=<TAB>     uuids of the command's class (xe vdi-list params=uuid --minimal)
#   xe vbd-create vm-uuid=<TAB>   uuids of the class the parameter names (vm-list)
#   xe vm-list params=<TAB>       the class's fields;  file-name=/filename=<TAB>: files
#   xe log-set-output output=<TAB>  nil, stderr, string, syslog, file:;  key=<TAB>: log-get-keys
# The lists come from xe itself, with the connection words of the line being completed
# (-s, -p, -u, -pw, -pwf, --nossl, server=…), ~/.xe and XE_EXTRA_ARGS as xe reads them.
# XE_COMPLETION_DEBUG_FILE=path logs each completion's inputs and answer.

# Splits xe's --minimal output (comma-separated, `\,` inside a value) into lines.
_xe_islet_split() {
    local s=$1 item='' i ch
    for ((i = 0; i < ${#s}; i++)); do
        ch=${s:i:1}
        if [[ $ch == '\' && $((i + 1)) -lt ${#s} ]]; then
            item+=${s:i+1:1}
            ((i++))
        elif [[ $ch == ',' ]]; then
            [[ -n $item ]] && printf '%s\n' "$item"
            item=''
        else
            item+=$ch
        fi
    done
    [[ -n $item ]] && printf '%s\n' "$item"
}

# The parameter names of a command, one a line, each ending in '=' (or ':' for a map),
# with vm=/host=/sr= and the class's fields for commands that take object selectors.
_xe_islet_params() {
    local help line list sel=''
    help=$("${_xe_islet_cmd[@]}" help "$1" 2>/dev/null) || return
    while IFS= read -r line; do
        case $line in
            *'reqd params'*:* | *'optional params'*:*)
                list=${line#*: }
                local IFS=','
                local p
                for p in $list; do
                    p=${p# }
                    case $p in
                        '') ;;
                        '<vm-selectors>') sel=vm ;;
                        '<host-selectors>') sel=host ;;
                        '<sr-selectors>') sel=sr ;;
                        *:) printf '%s\n' "$p" ;;
                        *) printf '%s=\n' "$p" ;;
                    esac
                done
                ;;
        esac
    done <<<"$help"
    if [[ -n $sel ]]; then
        printf '%s=\n' "$sel"
        _xe_islet_params "$sel-list" | grep -v '^params=$'
    fi
}

# The class whose objects a `uuid=` of this command names.
_xe_islet_uuid_class() {
    case $1 in
        host-cpu-info) echo host ;;
        snapshot-*) echo snapshot ;;
        template-*) echo template ;;
        *) echo "${1%%-*}" ;;
    esac
}

# The candidates (whole words) for the word being completed.
_xe_islet_candidates() {
    local cmd=$1 cur=$2
    if [[ $cur != *=* ]]; then
        _xe_islet_params "$cmd" | sort -u
        return
    fi
    local param=${cur%%=*} cls
    case $param in
        uuid) cls=$(_xe_islet_uuid_class "$cmd") ;;
        *-uuid) cls=${param%-uuid}; cls=${cls##*-} ;;
        vm | host | sr | template)
            _xe_islet_split "$("${_xe_islet_cmd[@]}" "$param-list" params=name-label --minimal 2>/dev/null)" | sed "s/^/$param=/"
            return ;;
        filename | file-name)
            compgen -f -- "${cur#*=}" | sed "s/^/$param=/"
            return ;;
        params)
            _xe_islet_params "${cmd%%-*}-list" | grep -v '^params=$' | sed -n 's/^\(.*\)=$/params=\1/p'
            echo params=all
            return ;;
        class)
            "${_xe_islet_cmd[@]}" help --all --minimal 2>/dev/null | tr ',' '\n' | sed -n 's/^\([a-z]*\)-list$/class=\1/p'
            return ;;
        output | key | level)
            [[ $cmd == log-set-output ]] || return
            case $param in
                output) printf 'output=%s\n' nil stderr string syslog syslog: file: ;;
                key) _xe_islet_split "$("${_xe_islet_cmd[@]}" log-get-keys --minimal 2>/dev/null)" | sed 's/^/key=/' ;;
                level) printf 'level=%s\n' debug info warn error ;;
            esac
            return ;;
        force | live | shared | multiple | minimal | bootable | unpluggable | sharable | paused | preserve | metadata | copy)
            printf '%s\n' "$param=true" "$param=false"
            return ;;
        *) return ;;
    esac
    [[ -n $cls ]] || return
    _xe_islet_split "$("${_xe_islet_cmd[@]}" "$cls-list" params=uuid --minimal 2>/dev/null)" | sed "s/^/$param=/"
}

_xe_islet() {
    # The words up to the cursor, split at blanks only: bash's COMP_WORDS also splits at
    # '=' and ':', which xe's words contain.
    local line=${COMP_LINE:0:COMP_POINT}
    local -a words
    read -r -a words <<<"$line"
    [[ $line == *[[:space:]] || ${#words[@]} -eq 0 ]] && words+=('')
    local cur=${words[${#words[@]} - 1]}

    # xe as invoked on this line, with its connection words; the command is the first other word.
    _xe_islet_cmd=("${words[0]}")
    local i w cmd='' n=${#words[@]}
    for ((i = 1; i < n - 1; i++)); do
        w=${words[i]}
        case $w in
            -s | -p | -u | -pw | -pwf | -h)
                _xe_islet_cmd+=("$w" "${words[i + 1]}")
                ((i++)) ;;
            --nossl | --debug | server=* | port=* | username=* | password=* | passwordfile=* | nossl=*)
                _xe_islet_cmd+=("$w") ;;
            *) [[ -z $cmd ]] && cmd=$w ;;
        esac
    done

    local -a cands
    if [[ -z $cmd || ($cmd == help && $cur != *=*) ]]; then
        mapfile -t cands < <("${_xe_islet_cmd[@]}" help --all --minimal 2>/dev/null | tr ',' '\n' | sed 's/$/ /')
    else
        mapfile -t cands < <(_xe_islet_candidates "$cmd" "$cur")
        # A parameter already on the line is not offered again.
        local -a left=()
        local c
        for c in "${cands[@]}"; do
            if [[ $c == *= && " ${words[*]:1:n-2} " == *" $c"* ]]; then continue; fi
            # A finished value ends the word (not a prefix such as output=file:).
            [[ $cur == *=* && $c != *: ]] && c+=' '
            left+=("$c")
        done
        cands=("${left[@]}")
    fi

    # Keep the matches; hand back each without the part of the word bash does not replace
    # (up to the last '=' or ':', which bash treats as word breaks).
    local strip=${cur%"${cur##*[=:]}"}
    COMPREPLY=()
    for c in "${cands[@]}"; do
        [[ $c == "$cur"* ]] || continue
        c=${c#"$strip"}
        [[ -n ${c% } ]] || continue
        # Blanks and shell characters in names are escaped; the trailing space is not.
        if [[ $c == *' ' ]]; then
            c=$(printf '%q' "${c% }")' '
        else
            c=$(printf '%q' "$c")
        fi
        COMPREPLY+=("$c")
    done

    if [[ -n ${XE_COMPLETION_DEBUG_FILE-} ]]; then
        printf 'line=%q cmd=%q cur=%q -> %s\n' "$line" "$cmd" "$cur" "${COMPREPLY[*]}" >>"$XE_COMPLETION_DEBUG_FILE"
    fi
    return 0
}

complete -o nospace -F _xe_islet xe
