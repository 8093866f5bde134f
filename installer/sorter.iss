; Inno Setup 6.3+ script for Sorter: a per-user install (no admin rights) of the PyInstaller folder.
;
; Build (from the repository root, after `pyinstaller build.spec --noconfirm`):
;   iscc /DAppVersion=0.1.0 /DVariant=cuda installer\sorter.iss
; Output: installer\Output\Sorter-<version>-<variant>-setup.exe
; Defines: AppVersion (default 0.1.0), NumericVersion (four numbers for VersionInfoVersion, which
;          rejects 0.2.0rc1: `python installer\version_info.py 0.2.0rc1` gives 0.2.0.0; default
;          AppVersion), Variant (cuda | cpu, default cpu: only in the file name),
;          SourceDir (default ..\dist\Sorter, relative to this script), DiskSpanning (set it when
;          the compressed folder exceeds 4.2 GB: Setup.exe then comes with Setup-*.bin slices),
;          SignToolName (the name of a sign tool given to ISCC with /S: signs setup and uninstaller),
;          Compression (default lzma2/max; the CI's CUDA leg uses lzma2/normal: gigabytes to pack).
; Uninstalling asks whether to delete the user's settings, models and correction queue (default:
; keep them). Silent uninstall keeps them unless given /DELETEUSERDATA=yes.

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#ifndef NumericVersion
  #define NumericVersion AppVersion
#endif
#ifndef Compression
  #define Compression "lzma2/max"
#endif
#ifndef Variant
  #define Variant "cpu"
#endif
#ifndef SourceDir
  #define SourceDir "..\dist\Sorter"
#endif
#define AppName "Sorter"
#define GuiExe "Sorter.exe"
; The id Sorter.exe gives its process (sorter.gui.app.APP_USER_MODEL_ID): with the same id on the
; shortcuts, a pinned Sorter and the running window share one taskbar button.
#define AppUserModelID "Sorter.Sorter"
#define IconFile "..\assets\icons\sorter.ico"
; The verb key under HKCU\Software\Classes\Directory(\Background)\shell.
#define VerbKey "SortWithSorter"

[Setup]
; The AppId identifies Sorter for upgrades and uninstall: never change it.
AppId={{E7215D91-ECDC-42C6-8F9D-71F3957394E8}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=Sorter
VersionInfoVersion={#NumericVersion}
; Per-user: {autopf} becomes %LOCALAPPDATA%\Programs, registry entries go to HKCU.
PrivilegesRequired=lowest
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
WizardStyle=modern
OutputDir=Output
OutputBaseFilename={#AppName}-{#AppVersion}-{#Variant}-setup
UninstallDisplayIcon={app}\{#GuiExe}
UninstallDisplayName={#AppName}
; Non-solid LZMA2: the CUDA folder is gigabytes; solid compression would need that much memory.
Compression={#Compression}
SolidCompression=no
; Closes a running Sorter before files are replaced (upgrade) or removed (uninstall).
CloseApplications=yes
; The licence page shows Sorter's own MIT licence (Help > About Sorter > Licences shows it and
; every third-party licence the folder ships).
LicenseFile=..\LICENSE
#if FileExists(AddBackslash(SourcePath) + IconFile)
SetupIconFile={#IconFile}
#endif
#ifdef DiskSpanning
DiskSpanning=yes
#endif
#ifdef SignToolName
SignTool={#SignToolName}
#endif

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[CustomMessages]
english.ContextMenuTask=Add "Sort with Sorter" to the right-click menu of folders and drives
english.ContextMenuVerb=Sort with Sorter
english.ExplorerGroup=Windows Explorer:
english.DeleteUserData=Also delete your Sorter settings, your own trained models and the correction queue?%n%nSorted photos and their folders are never touched. Choose No to keep everything for a later install.

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked
Name: "contextmenu"; Description: "{cm:ContextMenuTask}"; GroupDescription: "{cm:ExplorerGroup}"

[InstallDelete]
; An upgrade must not keep libraries the new version no longer ships (PyInstaller's _internal).
Type: filesandordirs; Name: "{app}\_internal"

[Files]
Source: "{#SourceDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\{#GuiExe}"; AppUserModelID: "{#AppUserModelID}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#GuiExe}"; AppUserModelID: "{#AppUserModelID}"; Tasks: desktopicon

[Registry]
; Each verb passes one folder as "<path>\.": a path that ends in a backslash (a drive root, D:\)
; would otherwise end the argument in \", which the C runtime reads as an escaped quote ("D:\"
; arrives as D:"). "\." names the same folder and never ends in a backslash; the app also turns a
; trailing quote back into the backslash (sorter.core.files.clean_path_arg) for commands typed
; by hand. MultiSelectModel=Single, deliberately: a command line verb runs one process per
; selected item, and each would load the model; several folders are dropped on the window or on
; Sorter's icon instead, which passes them all to one window.
; Right-click on a folder: the folder is %1.
Root: HKCU; Subkey: "Software\Classes\Directory\shell\{#VerbKey}"; ValueType: string; ValueName: ""; ValueData: "{cm:ContextMenuVerb}"; Flags: uninsdeletekey; Tasks: contextmenu
Root: HKCU; Subkey: "Software\Classes\Directory\shell\{#VerbKey}"; ValueType: string; ValueName: "Icon"; ValueData: """{app}\{#GuiExe}"",0"; Tasks: contextmenu
Root: HKCU; Subkey: "Software\Classes\Directory\shell\{#VerbKey}"; ValueType: string; ValueName: "MultiSelectModel"; ValueData: "Single"; Tasks: contextmenu
Root: HKCU; Subkey: "Software\Classes\Directory\shell\{#VerbKey}\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#GuiExe}"" ""%1\."""; Tasks: contextmenu
; Right-click on the empty background of an open folder (D:\ itself too): the folder is %V.
Root: HKCU; Subkey: "Software\Classes\Directory\Background\shell\{#VerbKey}"; ValueType: string; ValueName: ""; ValueData: "{cm:ContextMenuVerb}"; Flags: uninsdeletekey; Tasks: contextmenu
Root: HKCU; Subkey: "Software\Classes\Directory\Background\shell\{#VerbKey}"; ValueType: string; ValueName: "Icon"; ValueData: """{app}\{#GuiExe}"",0"; Tasks: contextmenu
Root: HKCU; Subkey: "Software\Classes\Directory\Background\shell\{#VerbKey}"; ValueType: string; ValueName: "MultiSelectModel"; ValueData: "Single"; Tasks: contextmenu
Root: HKCU; Subkey: "Software\Classes\Directory\Background\shell\{#VerbKey}\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#GuiExe}"" ""%V\."""; Tasks: contextmenu
; Right-click on a drive or memory card in This PC: the drive root is %1 (D:\).
Root: HKCU; Subkey: "Software\Classes\Drive\shell\{#VerbKey}"; ValueType: string; ValueName: ""; ValueData: "{cm:ContextMenuVerb}"; Flags: uninsdeletekey; Tasks: contextmenu
Root: HKCU; Subkey: "Software\Classes\Drive\shell\{#VerbKey}"; ValueType: string; ValueName: "Icon"; ValueData: """{app}\{#GuiExe}"",0"; Tasks: contextmenu
Root: HKCU; Subkey: "Software\Classes\Drive\shell\{#VerbKey}"; ValueType: string; ValueName: "MultiSelectModel"; ValueData: "Single"; Tasks: contextmenu
Root: HKCU; Subkey: "Software\Classes\Drive\shell\{#VerbKey}\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#GuiExe}"" ""%1\."""; Tasks: contextmenu

[Run]
Filename: "{app}\{#GuiExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent

[UninstallDelete]
Type: dirifempty; Name: "{app}"

[Code]
{ Where platformdirs keeps Sorter's settings, models, queue, logs and cache on Windows
  (appauthor "Sorter", appname "Sorter", not roaming): %LOCALAPPDATA%\Sorter\Sorter. }
function UserDataRoot(): String;
begin
  Result := ExpandConstant('{localappdata}\Sorter');
end;

function WantsUserDataDeleted(): Boolean;
begin
  if UninstallSilent() then
    Result := CompareText(ExpandConstant('{param:DELETEUSERDATA|no}'), 'yes') = 0
  else
    Result := MsgBox(CustomMessage('DeleteUserData'), mbConfirmation, MB_YESNO or MB_DEFBUTTON2) = IDYES;
end;

procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
begin
  if (CurUninstallStep = usPostUninstall) and DirExists(UserDataRoot()) then
  begin
    if WantsUserDataDeleted() then
    begin
      if not DelTree(UserDataRoot(), True, True, True) then
        Log('Could not delete all of ' + UserDataRoot());
    end
    else
      Log('Kept user data in ' + UserDataRoot());
  end;
end;
