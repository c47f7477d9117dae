<#
.SYNOPSIS
  Keyturn script target (docs/targets/script.md): the Windows account a SQL Server service runs as.

.DESCRIPTION
  UNTESTED: it needs Windows, a SQL Server service and PowerShell remoting; Keyturn's test machine
  has none of them, so this example is documentation, checked by reading only.

  Keyturn runs it with PowerShell 7 (pwsh) on the Keyturn host; the work happens on the SQL Server
  host over PowerShell remoting through SSH (MSSQL_HOST set), or on this machine (MSSQL_HOST unset).

    targets:
      sql01-svc:
        type: script
        set:    [/usr/bin/pwsh, -NoProfile, -NonInteractive, -File, /usr/local/lib/keyturn/mssql-service-account.ps1, set]
        test:   [/usr/bin/pwsh, -NoProfile, -NonInteractive, -File, /usr/local/lib/keyturn/mssql-service-account.ps1, test]
        revoke: [/usr/bin/pwsh, -NoProfile, -NonInteractive, -File, /usr/local/lib/keyturn/mssql-service-account.ps1, revoke]
        input: stdin
        timeoutMs: 180000                 # a SQL Server restart can take a while
        env:
          MSSQL_HOST: sql01.corp.example.com
          MSSQL_SSH_USER: CORP\keyturn-ops  # an SSH key login with local admin rights on sql01
          MSSQL_SSH_KEY: /etc/keyturn/sql01.key
          MSSQL_SERVICE: MSSQLSERVER        # or MSSQL$INSTANCE for a named instance
          ACCOUNT_SCOPE: domain             # domain (ActiveDirectory module) or local
        admin: admin/corp-ad                # optional: an AD account allowed to reset the password
    secrets:
      sql01/svc:
        type: database-credential
        target: sql01-svc
        strategy: single-user             # or alternating-users with CORP\svc-sql and CORP\svc-sql_clone
        initial: { username: CORP\svc-sql, password: "${env:SVC_SQL_PASSWORD}" }

  set:    changes the account's password (AD: Set-ADAccountPassword, resetting as the admin when
          Keyturn gives one, else changing it with the current password; local: Set-LocalUser),
          points the service at the account with that password, restarts the service (and the
          services that depend on it, such as SQL Server Agent) and waits until it runs. Running it
          again with the same password does the same again: idempotent, at the price of a restart.
  test:   checks the password with PrincipalContext.ValidateCredentials and that the service runs.
  revoke: (alternating-users cleanup) gives the account a random password nobody holds, unless the
          service still runs as it.
  With alternating-users both accounts must exist beforehand with the same rights (SQL Server
  logins and permissions, "Log on as a service"): this script switches the service between them,
  it does not create or sync accounts.

  The service's stored password is changed with Win32_Service.Change through CIM, not with
  `sc.exe config <service> obj= <account> password= <password>`: that classic command puts the
  password on sc.exe's command line, where process listings (Win32_Process.CommandLine) and
  command-line auditing (event 4688) can read it. Passwords reach this script as JSON on stdin
  (input: stdin) or in KEYTURN_* variables and go to the SQL host inside the remoting session's
  arguments, never on a command line.

  Exit codes (the script target's defaults): 3 a credential was refused, 4 the account or the
  service does not exist, 5 access denied, 6 the host cannot be reached, 7 the password policy
  refused the password, 8 an admin is needed, 1 anything else.
#>
param(
  [Parameter(Mandatory = $true)][ValidateSet('set', 'test', 'revoke')][string]$Action
)
$ErrorActionPreference = 'Stop'

if ($env:KEYTURN_INPUT -eq 'stdin') {
  $doc = [Console]::In.ReadToEnd() | ConvertFrom-Json
  $new = $doc.credential.password
  $currentPassword = if ($doc.current) { $doc.current.password } else { $null }
  $adminUser = if ($doc.admin) { $doc.admin.username } else { $null }
  $adminPassword = if ($doc.admin) { $doc.admin.password } else { $null }
} else {
  $new = $env:KEYTURN_PASSWORD
  $currentPassword = $env:KEYTURN_CURRENT_PASSWORD
  $adminUser = $env:KEYTURN_ADMIN_USERNAME
  $adminPassword = $env:KEYTURN_ADMIN_PASSWORD
}
$request = @{
  Action          = $Action
  Account         = $env:KEYTURN_USERNAME
  Strategy        = $env:KEYTURN_STRATEGY
  Password        = $new
  CurrentPassword = $currentPassword
  AdminUser       = $adminUser
  AdminPassword   = $adminPassword
  Service         = $(if ($env:MSSQL_SERVICE) { $env:MSSQL_SERVICE } else { 'MSSQLSERVER' })
  Scope           = $(if ($env:ACCOUNT_SCOPE) { $env:ACCOUNT_SCOPE } else { 'domain' })
}

# Runs on the SQL Server host (Windows PowerShell 5.1 or 7). Throws; the caller maps to exit codes.
$work = {
  param($r)
  $ErrorActionPreference = 'Stop'
  $secure = { param($p) ConvertTo-SecureString -String $p -AsPlainText -Force }
  $sam = ($r.Account -split '\\')[-1]
  $svc = Get-CimInstance -ClassName Win32_Service -Filter "Name='$($r.Service)'"
  if (-not $svc) { throw [System.Management.Automation.ItemNotFoundException]::new("service $($r.Service) does not exist") }

  function Set-AccountPassword($password) {
    if ($r.Scope -eq 'local') {
      Set-LocalUser -Name $sam -Password (& $secure $password)
    } elseif ($r.AdminUser) {
      $cred = [pscredential]::new($r.AdminUser, (& $secure $r.AdminPassword))
      Set-ADAccountPassword -Identity $sam -Reset -NewPassword (& $secure $password) -Credential $cred
    } elseif ($r.CurrentPassword) {
      Set-ADAccountPassword -Identity $sam -OldPassword (& $secure $r.CurrentPassword) -NewPassword (& $secure $password)
    } else {
      throw [System.InvalidOperationException]::new('KT_ADMIN_REQUIRED')
    }
  }

  switch ($r.Action) {
    'set' {
      try {
        Set-AccountPassword $r.Password
      } catch {
        # A retried rotation: the new password is already the account's.
        Add-Type -AssemblyName System.DirectoryServices.AccountManagement
        $kind = if ($r.Scope -eq 'local') { 'Machine' } else { 'Domain' }
        $pc = [System.DirectoryServices.AccountManagement.PrincipalContext]::new($kind)
        if (-not $pc.ValidateCredentials($sam, $r.Password)) { throw }
      }
      $result = Invoke-CimMethod -InputObject $svc -MethodName Change -Arguments @{ StartName = $r.Account; StartPassword = $r.Password }
      if ($result.ReturnValue -ne 0) { throw "Win32_Service.Change returned $($result.ReturnValue)" }
      Restart-Service -Name $r.Service -Force
      (Get-Service -Name $r.Service).WaitForStatus('Running', [TimeSpan]::FromMinutes(2))
    }
    'test' {
      Add-Type -AssemblyName System.DirectoryServices.AccountManagement
      $kind = if ($r.Scope -eq 'local') { 'Machine' } else { 'Domain' }
      $pc = [System.DirectoryServices.AccountManagement.PrincipalContext]::new($kind)
      if (-not $pc.ValidateCredentials($sam, $r.Password)) { throw [System.UnauthorizedAccessException]::new("the password of $($r.Account) is refused") }
      if ((Get-Service -Name $r.Service).Status -ne 'Running') { throw "service $($r.Service) is not running" }
    }
    'revoke' {
      if ($svc.StartName -eq $r.Account) { throw "service $($r.Service) still runs as $($r.Account): not revoking it" }
      $bytes = [byte[]]::new(48)
      [System.Security.Cryptography.RandomNumberGenerator]::Create().GetBytes($bytes)
      Set-AccountPassword ('Kt!' + [Convert]::ToBase64String($bytes))
    }
  }
}

try {
  $session = $null
  if ($env:MSSQL_HOST) {
    try {
      $session = New-PSSession -HostName $env:MSSQL_HOST -UserName $env:MSSQL_SSH_USER -KeyFilePath $env:MSSQL_SSH_KEY
    } catch {
      [Console]::Error.WriteLine("cannot open a session on $($env:MSSQL_HOST): $($_.Exception.Message)")
      exit 6
    }
  }
  $where = if ($session) { @{ Session = $session } } else { @{} }
  Invoke-Command @where -ScriptBlock $work -ArgumentList $request
  exit 0
} catch {
  $message = $_.Exception.Message
  [Console]::Error.WriteLine("$Action failed: $message")
  switch -Regex ($message) {
    'KT_ADMIN_REQUIRED' { exit 8 }
    'password is refused|rejected the client credentials|user name or password is incorrect|logon failure' { exit 3 }
    'does not exist|Cannot find an object with identity|was not found' { exit 4 }
    'Access is denied|Insufficient access rights' { exit 5 }
    'password does not meet|complexity|password policy' { exit 7 }
    default { exit 1 }
  }
} finally {
  if ($session) { Remove-PSSession $session }
}
